"""Roles hold everywhere: a viewer changes nothing through any page or any API operation, and an
editor changes neither the Braze connection nor the members.

The pages are found by walking the project's URL patterns and the API operations by reading its
OpenAPI document, so a route added later is covered without touching this file. Each request
carries a real id of a survey that has responses, and the body the page's own form would post
(read from the pages an owner sees), so a view that forgot its role check would really change
something; and every row of every table is compared before and after.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern

from sounding.accounts.models import ApiToken, Invite, Membership, Role, User, Workspace
from sounding.answers.models import Response
from sounding.delivery.models import Attempt, Push, PushState
from sounding.destinations.webhooks.models import Endpoint, Message
from sounding.surveys.models import Status, Survey
from tests.conftest import EVERY_TYPE, logged_in
from tests.delivery_fixtures import respond

# Paths with tests of their own, or open to anyone by design: the API (covered below through
# its OpenAPI document), the respondent pages, static files, and signing in, out and up.
EXCLUDED = re.compile(r"^/(api/v1/|s/|static/|login$|logout$|setup$|password/reset|invite/)")
# Pages a viewer may legitimately post to. Each still must not change any row it should not.
VIEWER_MAY_POST = {
    # Choosing the current workspace writes only to the viewer's session.
    "workspace-switch",
}
# Changes every member may make to their own membership; tests/test_members.py covers them.
OWN_MEMBERSHIP = {"member-leave"}
# Every member may issue themselves an API token: it acts with their own role, so it grants
# nothing new. tests/test_token_pages.py covers it.
OWN_TOKENS = {"token-create"}
# API writes every member may make to what is theirs; on someone else's (the owner's token in
# `world`) they answer 404, as for something that does not exist, and change nothing.
API_OWN = {("delete", "/api/v1/tokens/{token_id}")}
WRITES = ("post", "put", "patch", "delete")
FORBIDDEN_OR_ABSENT = {403, 404, 405}
# Columns that record a visit rather than a change: sign-ins and a token's last use.
VISIT_COLUMNS = {"last_login", "last_used_at"}
SKIPPED_MODELS = {"sessions.session"}


# --- What the database holds ----------------------------------------------------------------


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (auto-created many-to-many tables included)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label_lower
        if model._meta.proxy or label in SKIPPED_MODELS:
            continue
        values = model._base_manager.order_by("pk").values()
        rows[label] = [{k: v for k, v in row.items() if k not in VISIT_COLUMNS} for row in values]
    return rows


def changes(before: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    after = snapshot()
    return {
        label: f"{len(before[label])} rows before, {len(after[label])} after"
        for label in before
        if before[label] != after[label]
    }


# --- The world the requests act on ----------------------------------------------------------


@dataclass
class World:
    workspace: Workspace
    owner: User
    editor: User
    viewer: User
    survey: Survey
    response: Response
    invite: Invite
    invite_token: str
    api_token: ApiToken
    webhook: Endpoint
    webhook_message: Message

    def membership(self, user: User) -> Membership:
        return Membership.objects.get(user=user, workspace=self.workspace)


# Every question type, and a translation, so the per-language pages exist too.
DEFINITION = {**EVERY_TYPE, "translations": {"fr": {"title": "Pouls client"}}}


@pytest.fixture
def world(workspace: Workspace, owner: User, editor: User, viewer: User) -> World:
    survey = Survey.create(workspace, DEFINITION, owner)
    survey.set_status(Status.LIVE)
    answers = {"nps": 9, "plan": "Pro", "channels": ["Email", "SMS"], "feedback": "Great"}
    response = respond(survey, "braze-abc", answers, complete=True)
    respond(survey, None, {"nps": 3})
    pending, raw = Invite.issue(workspace, "pending@example.com", Role.EDITOR, invited_by=owner)
    api_token, _ = ApiToken.issue(workspace, owner, "owner's script")
    webhook, message = webhook_with_a_delivery(workspace, survey, response)
    return World(
        workspace,
        owner,
        editor,
        viewer,
        survey,
        response,
        pending,
        raw,
        api_token,
        webhook,
        message,
    )


def webhook_with_a_delivery(
    workspace: Workspace, survey: Survey, response: Response
) -> tuple[Endpoint, Message]:
    """An endpoint with one message tried once, so its page has every form (a resend too).

    Made as rows, not through `endpoints.create`: nothing here may reach the network, and the
    address is one no request is ever sent to.
    """
    endpoint = Endpoint(workspace=workspace, url="https://hooks.example.com/sounding")
    endpoint.events = ["response.completed"]
    endpoint.set_secret("whsec_" + "A" * 43 + "=")
    endpoint.save()
    message = Message.objects.create(
        response=response,
        workspace=workspace,
        survey_id=survey.pk,
        type="response.completed",
        body="{}",
    )
    push = Push.objects.create(
        response=response,
        workspace=workspace,
        destination=endpoint.kind,
        user_key=f"response:{response.pk}",
        state=PushState.FAILED,
        wanted_version=1,
    )
    Attempt.objects.create(
        push=push,
        request_id="r1",
        outcome="retry",
        status_code=503,
        detail="Unavailable",
        payload=[{"id": message.msg_id}],
    )
    return endpoint, message


def path_values(world: World) -> dict[str, str]:
    """A real value for each path parameter name in use; ids point into `world`."""
    survey, response = world.survey, world.response
    return {
        "pk": str(survey.pk),
        "id": str(survey.pk),
        "survey_id": str(survey.pk),
        "slug": survey.slug,
        "key": "nps",
        "question": "nps",
        "question_key": "nps",
        "response_id": str(response.pk),
        "token": response.token,
        "response_token": response.token,
        "lang": "fr",
        "language": "fr",
        "code": "fr",
        # The owner is the target: the worst a forgotten check could do is demote or remove them.
        "member_id": str(world.membership(world.owner).pk),
        "membership_id": str(world.membership(world.owner).pk),
        "user_id": str(world.owner.pk),
        "invite_id": str(world.invite.pk),
        # The owner's: revoking it is what a forgotten check would let others do.
        "token_id": str(world.api_token.pk),
        "workspace_id": str(world.workspace.pk),
        "endpoint_id": str(world.webhook.pk),
        "msg_id": world.webhook_message.msg_id,
    }


# --- Every route of the project -------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    template: str  # as written: "/surveys/<int:pk>/edit", or a regular expression's source
    regex: str  # the same as Django matches it: "surveys/(?P<pk>[0-9]+)/edit"
    name: str | None
    callback: Any

    def path(self, values: dict[str, str]) -> str:
        return "/" + sample(self.regex, values)


def _source(pattern: Any) -> tuple[str, str]:
    if not isinstance(pattern, RoutePattern | RegexPattern):
        raise AssertionError(f"unknown URL pattern kind: {pattern!r}")
    regex = pattern.regex.pattern.removeprefix("^").removesuffix(r"\Z").removesuffix("$")
    return (str(pattern) if isinstance(pattern, RoutePattern) else regex), regex


def walk(patterns: list[Any], prefix: tuple[str, str] = ("/", "")) -> Iterator[Route]:
    for entry in patterns:
        text, regex = _source(entry.pattern)
        template, full = prefix[0] + text, prefix[1] + regex
        if EXCLUDED.match(template):
            continue
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, (template, full))
        elif isinstance(entry, URLPattern):
            yield Route(template, full, entry.name, entry.callback)


# --- A path for each route: real values where the names are known, else any that fits ------

FALLBACKS = ("pk", "slug", "key")  # tried, in order, for a parameter name not in the values


def group_sources(regex: str) -> dict[str, str]:
    """Each named group's own pattern, read off the source by matching its parentheses."""
    found: dict[str, str] = {}
    for match in re.finditer(r"\(\?P<(\w+)>", regex):
        depth, i = 1, match.end()
        while depth:
            char = regex[i]
            if char == "\\":
                i += 1
            elif char in "()":
                depth += 1 if char == "(" else -1
            i += 1
        found[match[1]] = regex[match.end() : i - 1]
    return found


def sample(regex: str, values: dict[str, str]) -> str:
    """A string `regex` matches in full, each named group holding the best value at hand."""
    sources = group_sources(regex)
    parsed = sre_parse.parse(regex)
    names = {number: name for name, number in parsed.state.groupdict.items()}

    def value_for(number: int | None) -> str | None:
        name = names.get(number or 0)
        if name is None:
            return None
        for candidate in (name, *FALLBACKS):
            if candidate in values and re.fullmatch(sources[name], values[candidate]):
                return values[candidate]
        return None

    def build(items: Any) -> str:
        out = []
        for op, arg in items:
            kind = str(op)
            if kind == "LITERAL":
                out.append(chr(arg))
            elif kind == "ANY":
                out.append("a")
            elif kind == "IN":
                out.append(one_of(arg))
            elif kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                out.append(build(arg[2]) * max(arg[0], 1))
            elif kind == "BRANCH":
                out.append(build(arg[1][0]))
            elif kind == "SUBPATTERN":
                out.append(value_for(arg[0]) or build(arg[-1]))
            elif kind != "AT":
                raise AssertionError(f"tests/test_roles.py cannot build a path for {regex!r}")
        return "".join(out)

    return build(parsed)


def one_of(choices: list[Any]) -> str:
    op, arg = choices[0]
    kind = str(op)
    if kind == "LITERAL":
        return chr(arg)
    if kind == "RANGE":
        return chr(arg[0])
    if kind == "CATEGORY":
        return "7" if "DIGIT" in str(arg) and "NOT" not in str(arg) else "a"
    if kind == "NEGATE":  # "[^/]": a character none of the listed ones
        listed = {chr(a) for o, a in choices[1:] if str(o) == "LITERAL"}
        return next(c for c in "az7-" if c not in listed)
    raise AssertionError(f"tests/test_roles.py cannot pick from the set {choices!r}")


def routes() -> list[Route]:
    return list(walk(get_resolver().url_patterns))


# --- Plausible bodies: what the owner's own pages post --------------------------------------


class Forms(HTMLParser):
    """The post forms of a page: action → field values, as a browser would submit them."""

    def __init__(self, page_path: str) -> None:
        super().__init__()
        self.page_path = page_path
        self.found: dict[str, dict[str, list[str]]] = {}
        self.current: dict[str, list[str]] | None = None
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            action = (a.get("action") or self.page_path).split("#")[0]
            self.current = self.found.setdefault(action, {})
        elif self.current is None:
            return
        elif tag == "option" and self.select:
            # The selected option, else the first one.
            if not self.current[self.select] or "selected" in a:
                self.current[self.select] = [a.get("value", "")]
        elif not a.get("name"):
            return
        elif tag == "input":
            self.input(a)
        elif tag == "select":
            self.select = a["name"]
            self.current[self.select] = []
        elif tag == "textarea":
            self.textarea = a["name"]
            self.current[self.textarea] = [""]

    def input(self, a: dict[str, str]) -> None:
        assert self.current is not None
        name, kind = a["name"], a.get("type", "text")
        value = a.get("value", "on" if kind in ("radio", "checkbox") else "")
        if kind == "radio":
            # The checked choice, else the first one: a radio group always sends one value.
            if "checked" in a or name not in self.current:
                self.current[name] = [value]
        elif kind == "checkbox":
            # Ticked, whatever the page's default: turning things on is the likelier change.
            self.current.setdefault(name, []).append(value)
        elif kind not in ("submit", "button", "file", "image", "reset"):
            self.current.setdefault(name, []).append(value)

    def handle_data(self, data: str) -> None:
        if self.textarea and self.current is not None:
            # Like a browser, drop the newline that may follow <textarea>.
            text = self.current[self.textarea][0] + data
            self.current[self.textarea][0] = text.removeprefix("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


# Values for fields a form leaves empty, so the body reads as a real submission.
FILL = {
    "title": "Taken over",
    "prompt": "A new question?",
    "help": "Help text",
    "choices": "One\nTwo",
    "email": "intruder@example.com",
    "name": "Intruder",
    "api_key": "a1b2c3d4-e5f6-4711-9abc-intruderkey",
    "endpoint": "https://rest.iad-03.braze.com",
    "cluster": "US-03",
    "definition": json.dumps({"title": "Taken over", "questions": []}),
    "confirm": "Taken over",
    "role": "owner",
    "direction": "up",
}
BASELINE = {
    "title": "Taken over",
    "role": "owner",
    "direction": "up",
    "enabled": "on",
    "confirm": "yes",
    "status": "live",
}


def owner_forms(world: World, paths: list[str]) -> dict[str, dict[str, list[str]]]:
    client = logged_in(world.owner)
    # A page that fails to render has its own tests to say so; here it just offers no form.
    client.raise_request_exception = False
    found: dict[str, dict[str, list[str]]] = {}
    for path in paths:
        page = client.get(path)
        if page.status_code == 200 and "html" in page.get("Content-Type", ""):
            parser = Forms(path)
            parser.feed(page.content.decode())
            for action, fields in parser.found.items():
                found.setdefault(action, fields)
    return found


def body_for(path: str, forms: dict[str, dict[str, list[str]]]) -> dict[str, Any]:
    fields = forms.get(path)
    if fields is None:
        return dict(BASELINE)
    data: dict[str, Any] = {}
    for name, values in fields.items():
        if name == "csrfmiddlewaretoken":
            continue
        filled = [v for v in values if v] or ([FILL[name]] if name in FILL else values)
        data[name] = filled if len(filled) != 1 else filled[0]
    return data


def send(client: Client, method: str, path: str, body: dict[str, Any], **extra: Any) -> int:
    if method == "post":
        return client.post(path, body, **extra).status_code
    payload = json.dumps(body)
    return getattr(client, method)(
        path, payload, content_type="application/json", **extra
    ).status_code


# --- The pages ------------------------------------------------------------------------------


def test_the_walk_finds_the_pages_that_change_things(db: None) -> None:
    names = {route.name for route in routes()}
    assert {"survey-edit", "survey-delete", "braze-settings", "members", "member-role"} <= names
    assert not {"respond", "login", "password-reset", "invite-accept"} & names
    assert not any(route.template.startswith("/api/") for route in routes())


def test_every_route_becomes_a_path_that_reaches_its_own_view(world: World) -> None:
    values = path_values(world)
    for route in routes():
        path = route.path(values)
        assert resolve(path).func == route.callback, f"{route.template} → {path}"


def test_a_viewer_changes_nothing_through_any_page(world: World) -> None:
    values = path_values(world)
    paths = {route.path(values): route for route in routes()}
    forms = owner_forms(world, list(paths))
    client = logged_in(world.viewer)
    answers: dict[str, dict[str, int]] = {}
    for path, route in paths.items():
        if route.name in OWN_MEMBERSHIP | OWN_TOKENS:
            continue
        before = snapshot()
        body = body_for(path, forms)
        answers[path] = {method: send(client, method, path, body) for method in WRITES}
        assert changes(before) == {}, f"a viewer's request to {path} changed rows"
        if route.name not in VIEWER_MAY_POST:
            refused = {m: s for m, s in answers[path].items() if s not in FORBIDDEN_OR_ABSENT}
            assert refused == {}, f"{path} ({route.name}) answered a viewer with {refused}"
    # Not vacuous: the sensitive pages were reached and refused, not missed.
    by_name = {route.name: answers.get(path, {}) for path, route in paths.items()}
    refused = ("survey-edit", "survey-delete", "question-add", "braze-settings", "member-invite")
    webhooks = ("webhooks", "webhook", "webhook-test", "webhook-rotate", "webhook-resend")
    for name in refused + webhooks:
        assert by_name[name]["post"] == 403, f"{name}: {by_name[name]}"
    assert by_name["token-revoke"]["post"] == 404  # the owner's token, out of a viewer's sight


def test_the_owners_forms_are_plausible_bodies(world: World) -> None:
    """The bodies posted above are real submissions: as the owner they do change things."""
    values = path_values(world)
    by_name = {route.name: route.path(values) for route in routes()}
    client = logged_in(world.owner)
    for name in ("question-add", "member-invite", "survey-edit"):
        path = by_name[name]
        # Read afresh each time: a form may carry the version it was shown for.
        forms = owner_forms(world, list(by_name.values()))
        assert path in forms, f"no form on any page posts to {path}"
        before = snapshot()
        status = client.post(path, body_for(path, forms)).status_code
        assert status in (200, 302)
        assert changes(before), f"the owner's form posted to {path} changed nothing"


EDITOR_REFUSED = re.compile(r"^/settings/(braze|members)")


def test_an_editor_changes_neither_the_braze_connection_nor_the_members(world: World) -> None:
    values = path_values(world)
    targets = {
        route.path(values): route
        for route in routes()
        if EDITOR_REFUSED.match(route.template) and route.name not in OWN_MEMBERSHIP
    }
    assert {r.name for r in targets.values()} >= {"braze-settings", "members", "member-role"}
    forms = owner_forms(world, list(targets))
    client = logged_in(world.editor)
    answers: dict[str | None, int] = {}
    for path, route in targets.items():
        before = snapshot()
        answers[route.name] = client.post(path, body_for(path, forms)).status_code
        assert answers[route.name] in (403, 405), f"an editor's post to {path}: {answers}"
        assert changes(before) == {}, f"an editor's post to {path} changed rows"
    assert answers["braze-settings"] == answers["member-invite"] == answers["member-role"] == 403


# --- The API --------------------------------------------------------------------------------


def api_writes(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method.lower() not in WRITES:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            yield method.lower(), path, body.get("example", {})


def api_path(template: str, world: World) -> str:
    values = path_values(world)
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], str(world.survey.pk)), template)


def test_a_viewer_token_is_refused_every_api_write(world: World, viewer_token: str) -> None:
    document = Client().get("/api/v1/openapi.json").json()
    operations = list(api_writes(document))
    assert {(m, p) for m, p, _ in operations} >= {
        ("post", "/api/v1/surveys"),
        ("delete", "/api/v1/surveys/{survey_id}"),
        ("put", "/api/v1/integrations/braze"),
        ("post", "/api/v1/integrations/webhooks"),
        ("patch", "/api/v1/integrations/webhooks/{endpoint_id}"),
        ("post", "/api/v1/integrations/webhooks/{endpoint_id}/deliveries/{msg_id}/resend"),
    }
    client = Client(HTTP_AUTHORIZATION=f"Bearer {viewer_token}")
    for method, template, example in operations:
        path = api_path(template, world)
        before = snapshot()
        status = send(client, method, path, example)
        expected = 404 if (method, template) in API_OWN else 403
        assert status == expected, (
            f"{method.upper()} {path} answered a viewer's token with {status}"
        )
        assert changes(before) == {}, f"{method.upper()} {path} changed rows for a viewer"


def test_the_api_examples_are_plausible_bodies(world: World, owner_token: str) -> None:
    document = Client().get("/api/v1/openapi.json").json()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    method, template, example = next(
        op for op in api_writes(document) if op[:2] == ("put", "/api/v1/surveys/{survey_id}")
    )
    before = snapshot()
    assert send(client, method, api_path(template, world), example) == 200
    assert "surveys.survey" in changes(before)


def test_the_snapshot_sees_a_change_anywhere(world: World) -> None:
    before = snapshot()
    ApiToken.objects.filter(user=world.owner).update(last_used_at=None)  # a visit: ignored
    assert changes(before) == {}
    Response.objects.filter(pk=world.response.pk).update(language="de")
    assert set(changes(before)) == {"answers.response"}
