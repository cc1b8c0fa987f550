"""Hidden fields are declared: a link keeps only the parameters its survey names, and the
exports have a column for those alone, however many other names respondents send. The builder
edits the list; surveys from before get the names their responses already held."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import string
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sounding.accounts.models import User
from sounding.answers.models import Response
from sounding.collect import flow
from sounding.surveys.definition import build_spec, normalize, reserved_keys
from sounding.surveys.models import Survey
from tests.conftest import EVERY_TYPE, logged_in
from tests.migrating import migrate
from tests.respondent import one_click

FIXED = [
    "response_token",
    "braze_id",
    "external_id",
    "email",
    "language",
    "started_at",
    "completed_at",
    "braze_sync",
]
# The export's answer columns: a choice question offering "Other" has `<key>.other` too.
KEYS = [
    column
    for q in EVERY_TYPE["questions"]
    for column in (q["key"], *([f"{q['key']}.other"] if q.get("allow_other") else []))
]


def declare(survey: Survey, *names: str) -> None:
    survey.replace_definition({**survey.definition, "hidden_fields": list(names)})


def body(reply: Any) -> str:
    return b"".join(reply.streaming_content).decode("utf-8")


def csv_header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text)))


# --- What a link keeps ---------------------------------------------------------------------


SPEC = build_spec(normalize({**EVERY_TYPE, "hidden_fields": ["utm_source", "plan.tier"]}))


def test_a_link_keeps_the_declared_hidden_fields_and_ignores_every_other_parameter() -> None:
    params = {
        "utm_source": "email",
        "plan.tier": "gold",
        "utm_campaign": "spring",  # added by a mail provider: not declared
        "lid": "x81k",
        "nps": "9",
        "user_braze_id": "abc",
        "lang": "fr",
        **{f"junk{i}": "x" for i in range(40)},
    }
    ctx = flow.read_link(params, SPEC)
    assert ctx.hidden == {"utm_source": "email", "plan.tier": "gold"}
    assert ctx.prefill == {"nps": "9"}
    assert ctx.identity == {"braze_id": "abc"}


def test_a_declared_field_the_link_lacks_is_absent_and_values_are_cut_and_cleaned() -> None:
    assert flow.read_link({"utm_campaign": "x"}, SPEC).hidden == {}
    long = flow.read_link({"utm_source": "v" * 300}, SPEC).hidden
    assert long == {"utm_source": "v" * 255}
    assert flow.read_link({"utm_source": "a\x00b", "plan.tier": ""}, SPEC).hidden == {
        "plan.tier": ""
    }


def test_a_survey_declaring_nothing_keeps_nothing() -> None:
    spec = build_spec(normalize(EVERY_TYPE))
    assert flow.read_link({"utm_source": "email", "campaign": "x"}, spec).hidden == {}


def test_no_hidden_field_can_take_a_parameter_the_respondent_pages_read() -> None:
    root = Path(flow.__file__).parent
    read: set[str] = set()
    for module in ("views.py", "signatures.py", "flow.py", "ratelimit.py"):
        read |= set(re.findall(r'GET(?:\.get\(|\[)"(\w+)"', (root / module).read_text()))
    assert {"q", "r", "lang", "sig", "preview", "restart"} <= read
    assert read <= reserved_keys(), read - reserved_keys()


@pytest.mark.django_db
def test_a_translated_survey_keeps_its_hidden_fields(live_survey: Survey) -> None:
    live_survey.replace_definition(
        {**live_survey.definition, "hidden_fields": ["src"], "translations": {"fr": {}}}
    )
    client = Client()
    page = one_click(client, live_survey.public_path() + "?lang=fr&src=mail&other=1&nps=8", "8")
    assert page.status_code == 200
    stored = Response.objects.get()
    assert stored.hidden == {"src": "mail"} and stored.language == "fr"


# --- Exports cannot be grown by respondents --------------------------------------------------


def random_name(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "_-."
    return "x" + "".join(rng.choices(alphabet, k=rng.randint(4, 40)))


@pytest.mark.django_db
def test_500_anonymous_links_with_random_parameters_add_no_export_column(
    live_survey: Survey, owner: User, owner_token: str
) -> None:
    declare(live_survey, "utm_source")
    rng = random.Random(336)
    for n in range(500):
        junk = {random_name(rng): f"v{n}" for _ in range(20)}
        query = urlencode({**junk, "nps": n % 11, "utm_source": f"mail-{n}"})
        # A new browser each time: anonymous, no cookie, one response per confirmed click.
        page = one_click(Client(), f"{live_survey.public_path()}?{query}", str(n % 11))
        assert page.status_code == 200
    stored = list(Response.objects.filter(survey=live_survey).values_list("hidden", flat=True))
    assert len(stored) == 500
    assert all(list(hidden) == ["utm_source"] for hidden in stored)

    expected = [*FIXED, "hidden.utm_source", *KEYS]
    author = logged_in(owner)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    api_url = f"/api/v1/surveys/{live_survey.pk}/responses/export"
    csv_texts = [
        body(author.get(reverse("survey-export-csv", args=[live_survey.pk]))),
        body(api.get(api_url + "?format=csv")),
    ]
    for text in csv_texts:
        assert csv_header(text) == expected
        assert len(list(csv.reader(io.StringIO(text)))) == 501
    json_texts = [
        body(author.get(reverse("survey-export-json", args=[live_survey.pk]))),
        body(api.get(api_url + "?format=json")),
    ]
    for text in json_texts:
        items = json.loads(text)
        assert len(items) == 500 and all(list(item) == expected for item in items)
        assert sorted(item["hidden.utm_source"] for item in items) == sorted(
            f"mail-{n}" for n in range(500)
        )


@pytest.mark.django_db
def test_values_stored_under_undeclared_names_stay_out_of_exports_and_the_api(
    live_survey: Survey, owner: User, owner_token: str
) -> None:
    declare(live_survey, "utm_source")
    Response.objects.create(survey=live_survey, hidden={"utm_source": "mail", "legacy": "old"})
    api = Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    (item,) = api.get(f"/api/v1/surveys/{live_survey.pk}/responses").json()["items"]
    assert item["hidden"] == {"utm_source": "mail"}
    text = body(logged_in(owner).get(reverse("survey-export-csv", args=[live_survey.pk])))
    assert "hidden.legacy" not in csv_header(text) and "old" not in text
    # Declared again later, the stored value comes back.
    declare(live_survey, "utm_source", "legacy")
    text = body(logged_in(owner).get(reverse("survey-export-csv", args=[live_survey.pk])))
    assert csv_header(text)[8:10] == ["hidden.utm_source", "hidden.legacy"]
    assert "old" in text


# --- The builder edits the list --------------------------------------------------------------


def hidden_url(survey: Survey) -> str:
    return reverse("survey-hidden-fields", args=[survey.pk])


def names_box(html: str) -> str:
    return html.split('name="names"')[1].split("</textarea>")[0].split(">", 1)[1]


@pytest.mark.django_db
def test_an_editor_declares_the_hidden_fields_from_the_survey_page(
    editor: User, live_survey: Survey
) -> None:
    client = logged_in(editor)
    page = client.get(live_survey.get_absolute_url()).content.decode()
    assert f'action="{hidden_url(live_survey)}#hidden-fields"' in page
    version = live_survey.version
    data = {"names": "utm_source\n plan.tier , utm-medium\n\n", "version": version}
    saved = client.post(hidden_url(live_survey), data)
    assert saved.status_code == 302
    assert saved["Location"] == live_survey.get_absolute_url() + "#hidden-fields"
    live_survey.refresh_from_db()
    assert live_survey.definition["hidden_fields"] == ["utm_source", "plan.tier", "utm-medium"]
    assert live_survey.version == version + 1
    assert live_survey.spec.hidden_fields == ("utm_source", "plan.tier", "utm-medium")
    page = client.get(live_survey.get_absolute_url()).content.decode()
    assert names_box(page).strip() == "utm_source\nplan.tier\nutm-medium"
    # An empty list declares none.
    client.post(hidden_url(live_survey), {"names": "", "version": live_survey.version})
    live_survey.refresh_from_db()
    assert live_survey.definition["hidden_fields"] == []


@pytest.mark.django_db
def test_bad_names_are_refused_beside_the_list_saying_which_and_why(
    editor: User, live_survey: Survey
) -> None:
    before = live_survey.definition
    names = "utm source\nsig\nuser_id\nnps\nutm\nutm\nq"
    reply = logged_in(editor).post(
        hidden_url(live_survey), {"names": names, "version": live_survey.version}
    )
    html = reply.content.decode()
    assert reply.status_code == 200
    assert "“utm source” must hold only letters, digits" in html
    for reserved in ("sig", "user_id", "q"):
        assert f"“{reserved}” is reserved for survey links" in html
    assert "“nps” is the key of question 1" in html
    assert "“utm” repeats a name above." in html
    assert names_box(html).strip() == names  # what was typed, to fix
    live_survey.refresh_from_db()
    assert live_survey.definition == before


@pytest.mark.django_db
def test_more_than_20_names_are_refused(editor: User, live_survey: Survey) -> None:
    names = "\n".join(f"f{i}" for i in range(21))
    reply = logged_in(editor).post(
        hidden_url(live_survey), {"names": names, "version": live_survey.version}
    )
    assert "Must have at most 20 names." in reply.content.decode()
    live_survey.refresh_from_db()
    assert live_survey.definition["hidden_fields"] == []


@pytest.mark.django_db
def test_a_stale_page_is_refused_with_409_and_keeps_what_was_typed(
    editor: User, owner: User, live_survey: Survey
) -> None:
    old = live_survey.version
    logged_in(owner).post(hidden_url(live_survey), {"names": "campaign", "version": old})
    reply = logged_in(editor).post(hidden_url(live_survey), {"names": "typed", "version": old})
    html = reply.content.decode()
    assert reply.status_code == 409
    assert "Someone else changed this survey while you were editing" in html
    assert names_box(html).strip() == "typed"
    live_survey.refresh_from_db()
    assert live_survey.definition["hidden_fields"] == ["campaign"]
    form = html.split('id="hidden-fields"')[1].split("</form>")[0]
    assert f'name="version" value="{live_survey.version}"' in form


@pytest.mark.django_db
def test_a_viewer_sees_the_hidden_fields_and_cannot_change_them(
    viewer: User, live_survey: Survey
) -> None:
    declare(live_survey, "utm_source")
    client = logged_in(viewer)
    html = client.get(live_survey.get_absolute_url()).content.decode()
    section = html.split('id="hidden-fields"')[1].split("</div>")[0]
    assert "<code>utm_source</code>" in section and "<form" not in section
    reply = client.post(hidden_url(live_survey), {"names": "x", "version": live_survey.version})
    assert reply.status_code == 403
    live_survey.refresh_from_db()
    assert live_survey.definition["hidden_fields"] == ["utm_source"]


@pytest.mark.django_db
def test_another_workspace_cannot_change_them_and_a_get_is_refused(
    outsider: User, editor: User, live_survey: Survey
) -> None:
    data = {"names": "x", "version": live_survey.version}
    assert logged_in(outsider).post(hidden_url(live_survey), data).status_code == 404
    assert logged_in(editor).get(hidden_url(live_survey)).status_code == 405
    live_survey.refresh_from_db()
    assert live_survey.definition["hidden_fields"] == []


@pytest.mark.django_db
def test_the_api_declares_them_through_the_definition(
    owner_token: str, live_survey: Survey
) -> None:
    api = Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    url = f"/api/v1/surveys/{live_survey.pk}"
    definition = {**live_survey.definition, "hidden_fields": ["utm_source", "sig"]}
    refused = api.put(url, json.dumps(definition), content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {
            "path": "$.hidden_fields[1]",
            "message": "is reserved for survey links: their pages read it themselves",
        }
    ]
    definition["hidden_fields"] = ["utm_source"]
    saved = api.put(url, json.dumps(definition), content_type="application/json")
    assert saved.status_code == 200
    assert saved.json()["definition"]["hidden_fields"] == ["utm_source"]


# --- Surveys from before declare what their responses held ----------------------------------

MIGRATION = "0003_declared_hidden_fields"
BEFORE = [("surveys", "0002_survey_destinations")]


def old_definition(*questions: str) -> dict[str, Any]:
    """A definition as stored before hidden fields: no `hidden_fields` at all."""
    given = [{"key": k, "type": "short_text", "prompt": k} for k in questions]
    stored = normalize({"title": "Old", "questions": given})
    del stored["hidden_fields"]
    return stored


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_declares_the_names_responses_already_held() -> None:
    old = migrate(BEFORE)
    try:
        workspace = old.get_model("accounts", "Workspace").objects.create(name="Acme")
        OldSurvey = old.get_model("surveys", "Survey")
        OldResponse = old.get_model("collect", "Response")

        def survey(slug: str, *questions: str) -> Any:
            return OldSurvey.objects.create(
                workspace=workspace, slug=slug, title="Old", definition=old_definition(*questions)
            )

        busy = survey("busy", "nps")
        quiet = survey("quiet", "nps")
        crowded = survey("crowded")
        held = [
            *[{"utm_source": "a", "plan": "b"}] * 3,
            {"utm_source": "c", "campaign": "d"},
            {"nps": "9", "q": "nps", "restart": "1", "bad name": "x", "ü": "y", "-x": "z"},
            {"lid": "k" * 64, "n" * 64: "longest", "m" * 65: "too long"},
            [],  # not an object: holds no name
            "text",
        ]
        for hidden in held:
            OldResponse.objects.create(survey=busy, hidden=hidden)
        OldResponse.objects.create(
            survey=busy, hidden={"erasing": "1"}, erase_requested_at=timezone.now()
        )
        OldResponse.objects.create(survey=quiet)
        for i in range(25):
            names = {f"f{j:02}": "v" for j in range(i + 1)}
            OldResponse.objects.create(survey=crowded, hidden=names)
    finally:
        migrate()

    def stored(slug: str) -> Survey:
        return Survey.objects.get(slug=slug)

    # Most used first, then by name; never a question key, a reserved or an invalid name.
    assert stored("busy").definition["hidden_fields"] == [
        "utm_source",
        "plan",
        "campaign",
        "lid",
        "n" * 64,
    ]
    assert stored("busy").version == 2
    assert stored("quiet").definition["hidden_fields"] == [] and stored("quiet").version == 1
    assert stored("crowded").definition["hidden_fields"] == [f"f{j:02}" for j in range(20)]
    for slug in ("busy", "quiet", "crowded"):
        survey = stored(slug)
        # What is stored is what normalize() gives, and the spec the app reads has it.
        assert normalize(survey.definition) == survey.definition
        assert survey.spec.hidden_fields == tuple(survey.definition["hidden_fields"])
    # The stored values themselves are untouched.
    kept = Response.objects.filter(survey__slug="busy").values_list("hidden", flat=True)

    def text(value: Any) -> str:
        return json.dumps(value, sort_keys=True)

    assert sorted(map(text, kept)) == sorted(map(text, [*held, {"erasing": "1"}]))


@pytest.mark.django_db(transaction=True)
def test_undoing_the_upgrade_takes_the_field_out_of_every_definition(
    workspace: Any, owner: User
) -> None:
    survey = Survey.create(workspace, {**EVERY_TYPE, "hidden_fields": ["utm"]}, owner)
    plain = Survey.create(workspace, EVERY_TYPE, owner)
    try:
        old = migrate(BEFORE)
        OldSurvey = old.get_model("surveys", "Survey")
        assert "hidden_fields" not in OldSurvey.objects.get(pk=survey.pk).definition
        assert OldSurvey.objects.get(pk=survey.pk).version == survey.version + 1
        assert OldSurvey.objects.get(pk=plain.pk).version == plain.version
    finally:
        migrate()
    # Redone, the survey declares what its responses held: none here.
    assert Survey.objects.get(pk=survey.pk).definition["hidden_fields"] == []
