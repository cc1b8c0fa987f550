"""Identity without exposure: an identity in a link decides whose one response an answer
updates, but only the browser that gave the answers, or a signed link, sees them. Emails are
one person in any case; a signature covers the kind of identifier; refused requests do not
spend the survey's rate limit."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone

from sounding import destinations
from sounding.answers.models import Answer, Response
from sounding.collect import ratelimit, signatures, store
from sounding.delivery.models import Push
from sounding.destinations.braze import signing
from sounding.destinations.braze.destination import survey_link
from sounding.destinations.braze.models import SurveyBraze
from sounding.destinations.braze.setup import save_survey_config, survey_config
from sounding.surveys.definition import IDENTITY_PREFIX, reserved_keys
from sounding.surveys.models import Survey
from tests.migrating import migrate
from tests.respondent import answer, confirm, form_state, one_click, question_of, screen_of

VICTIM = "victim@corp.test"
SECRET_TEXT = "My manager is the reason I am leaving"


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    signatures.forget()
    ratelimit.forget()


def link(survey: Survey, **params: str) -> str:
    return f"{survey.public_path()}?{urlencode(params)}"


def page_at(client: Client, url: str) -> str:
    got = client.get(url)
    assert got.status_code == 200, got.content
    return got.content.decode()


def page(client: Client, survey: Survey, **params: str) -> str:
    """The page a link shows, after the redirect that a link carrying an answer leads to."""
    got = client.get(link(survey, **params), follow=True)
    assert got.status_code == 200, got.content
    return got.content.decode()


def clicked(client: Client, survey: Survey, value: str, **params: str) -> str:
    """Open a link that carries an answer and confirm it; return the next screen."""
    return confirm(client, page(client, survey, **params), value).content.decode()


def answer_as_victim(survey: Survey, finish: bool = False) -> Client:
    """The victim answers from their own browser: a score, a nickname and free text."""
    client = Client()
    html = clicked(client, survey, "3", user_email=VICTIM, nps="3")
    given = {"rating": "2", "csat": "1", "effort": "2", "plan": "Pro", "channels": ["Email"]}
    given |= {"country": "Spain", "renew": "no", "nickname": "Vic", "feedback": SECRET_TEXT}
    if finish:
        given |= {"contact": "vic@home.test", "seats": "3", "since": "2020-01-02"}
    for key, value in given.items():
        assert question_of(html) == key
        html = answer(client, html, value).content.decode()
    return client


def shows_nothing_of_the_victim(html: str, response: Response) -> bool:
    return (
        SECRET_TEXT not in html
        and "Vic" not in html
        and response.token not in html
        and " checked" not in html
        and " selected" not in html
        and "Change my answers" not in html
    )


def sign_links(survey: Survey) -> str:
    config = survey_config(survey)
    signing.set_signed(config, True)
    save_survey_config(survey, config)
    return SurveyBraze.objects.get(survey=survey).signing_secret()


def sig(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


# --- Identity without exposure --------------------------------------------------------------


@pytest.mark.django_db
def test_a_second_browser_with_someones_email_sees_none_of_their_answers(
    live_survey: Survey,
) -> None:
    own = answer_as_victim(live_survey)
    response = Response.objects.get()
    # The browser that answered still picks up where it stopped, answers shown.
    back = page(own, live_survey, user_email=VICTIM, q="feedback")
    assert SECRET_TEXT in back and form_state(back)["r"] == response.token

    stranger = Client()
    for params in ({}, {"q": "feedback"}, {"q": "nickname"}, {"q": "nps"}):
        html = page(stranger, live_survey, user_email=VICTIM, **params)
        assert shows_nothing_of_the_victim(html, response), params
        assert form_state(html)["r"] == ""
    assert question_of(page(stranger, live_survey, user_email=VICTIM)) == "nps"
    # Back, from a question the stranger is shown, brings back nothing either.
    html = page(stranger, live_survey, user_email=VICTIM, q="country")
    state = form_state(html)
    data = {"r": "", "q": "country", "nav": "back"}
    previous = stranger.post(state["action"], data, follow=True)
    assert shows_nothing_of_the_victim(previous.content.decode(), response)
    assert not stranger.cookies.get(f"sr_{live_survey.pk}")


@pytest.mark.django_db
def test_what_a_second_browser_answers_still_updates_that_persons_one_response(
    live_survey: Survey,
) -> None:
    answer_as_victim(live_survey)
    response = Response.objects.get()
    stranger = Client()
    html = page(stranger, live_survey, user_email=VICTIM)
    after = answer(stranger, html, "10").content.decode()
    assert question_of(after) == "rating"
    assert shows_nothing_of_the_victim(after, response)
    # A question shown blank and left blank keeps the answer the stranger never saw.
    html = page(stranger, live_survey, user_email=VICTIM, q="feedback")
    kept = answer(stranger, html, "").content.decode()
    assert question_of(kept) == "contact" and shows_nothing_of_the_victim(kept, response)
    html = page(stranger, live_survey, user_email=VICTIM, q="nickname")
    answer(stranger, html, "Someone else")
    assert Response.objects.count() == 1
    stored = dict(Answer.objects.values_list("question_key", "value"))
    assert stored["nps"] == 10 and stored["nickname"] == "Someone else"
    assert stored["feedback"] == SECRET_TEXT
    # A one-click answer from the email works the same way, and shows nothing either.
    third = Client()
    one_click = page(third, live_survey, user_email=VICTIM, nps="0")
    assert SECRET_TEXT not in one_click and response.token not in one_click
    assert shows_nothing_of_the_victim(confirm(third, one_click, "0").content.decode(), response)
    assert Answer.objects.get(question_key="nps").value == 0
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_a_finished_response_shows_a_second_browser_the_first_question_blank(
    live_survey: Survey,
) -> None:
    own = answer_as_victim(live_survey, finish=True)
    response = Response.objects.get()
    assert response.completed_at is not None
    mine = page(own, live_survey, user_email=VICTIM)
    assert screen_of(mine) == "done" and "Change my answers" in mine

    stranger = Client()
    html = page(stranger, live_survey, user_email=VICTIM)
    assert question_of(html) == "nps"
    assert shows_nothing_of_the_victim(html, response)
    answer(stranger, html, "6")
    assert Answer.objects.get(question_key="nps").value == 6
    again = Response.objects.get()
    assert again.completed_at == response.completed_at
    assert again.answers_version > response.answers_version


@pytest.mark.django_db
def test_a_signed_link_shows_the_answers_anywhere_and_an_unsigned_one_nowhere_else(
    live_survey: Survey,
) -> None:
    # Unsigned: the link alone opens nothing.
    answer_as_victim(live_survey)
    response = Response.objects.get()
    html = page(Client(), live_survey, user_email=VICTIM, q="feedback")
    assert SECRET_TEXT not in html
    # Signed: the link is the person's, on any device.
    secret = sign_links(live_survey)
    signed = {"user_email": VICTIM, "sig": sig(secret, f"email:{VICTIM}")}
    anywhere = page(Client(), live_survey, **signed, q="feedback")
    assert SECRET_TEXT in anywhere and form_state(anywhere)["r"] == response.token
    assert question_of(page(Client(), live_survey, **signed)) == "contact"


# --- Emails in any case ---------------------------------------------------------------------


@pytest.mark.django_db
def test_an_email_in_any_case_or_with_spaces_is_one_response(live_survey: Survey) -> None:
    clicked(Client(), live_survey, "9", user_email="IVY@x.test ", nps="9")
    clicked(Client(), live_survey, "4", user_email="ivy@x.test", rating="4")
    clicked(Client(), live_survey, "5", user_email=" Ivy@X.Test", csat="5")
    response = Response.objects.get()
    assert (response.identity_value, response.identity["email"]) == ("ivy@x.test", "ivy@x.test")
    assert dict(Answer.objects.values_list("question_key", "value")) == {
        "nps": 9,
        "rating": 4,
        "csat": 5,
    }
    assert store.response_by_identity(live_survey, "email", "IVY@X.TEST") == response
    # Other identifiers are Braze's own, compared exactly.
    clicked(Client(), live_survey, "1", user_external_id="U-1", nps="1")
    clicked(Client(), live_survey, "2", user_external_id="u-1", nps="2")
    assert Response.objects.filter(identity_kind="external_id").count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_lower_cases_stored_emails_where_it_makes_no_duplicate(
    pulse: Survey, workspace: Any
) -> None:
    now = timezone.now()
    try:
        old = migrate([("collect", "0002_response_erase_requested_at")])
        OldResponse = old.get_model("collect", "Response")
        OldPush = old.get_model("delivery", "Push")

        def made(value: str, minutes_ago: int, kind: str = "email") -> int:
            response = OldResponse.objects.create(
                survey_id=pulse.pk,
                identity_kind=kind,
                identity_value=value,
                email=value if kind == "email" else "",
                updated_at=now - timedelta(minutes=minutes_ago),
            )
            OldPush.objects.create(
                response=response,
                workspace_id=workspace.pk,
                destination="braze",
                user_key=f"{kind}:{value}",
            )
            return int(response.pk)

        alone = made("Alone@X.test", 1)
        has_lower = [made("Pair@X.test", 1), made("pair@x.test", 5)]
        no_lower = [made("TRIO@x.test", 9), made("Trio@x.test", 2), made("trio@X.test", 5)]
        braze = made("MiXeD", 1, kind="braze_id")
    finally:
        migrate()

    def value(pk: int) -> str:
        return str(Response.objects.get(pk=pk).identity_value)

    def key(pk: int) -> str:
        return Push.objects.get(response_id=pk).user_key

    assert (value(alone), key(alone)) == ("alone@x.test", "email:alone@x.test")
    assert Response.objects.get(pk=alone).identity["email"] == "alone@x.test"
    # The one already in lower case is the person's; the other is left as it was.
    assert [value(r) for r in has_lower] == ["Pair@X.test", "pair@x.test"]
    # None in lower case: the one changed last becomes theirs.
    assert [value(r) for r in no_lower] == ["TRIO@x.test", "trio@x.test", "trio@X.test"]
    assert key(no_lower[1]) == "email:trio@x.test" and key(no_lower[0]) == "email:TRIO@x.test"
    assert value(braze) == "MiXeD"
    found = store.response_by_identity(Survey.objects.get(pk=pulse.pk), "email", "TRIO@X.TEST")
    assert found is not None and found.pk == no_lower[1]


# --- A signature covers the kind of identifier ----------------------------------------------


@pytest.mark.django_db
def test_a_signature_for_one_kind_of_identifier_is_refused_for_another(
    live_survey: Survey,
) -> None:
    secret = sign_links(live_survey)
    signature = sig(secret, "braze_id:shared-value")
    assert (
        Client().get(link(live_survey, user_braze_id="shared-value", sig=signature)).status_code
        == 200
    )
    for param in ("user_external_id", "user_email"):
        refused = Client().get(link(live_survey, **{param: "shared-value", "sig": signature}))
        assert refused.status_code == 403, param
    assert Response.objects.count() == 0  # opening the page stores nothing; refusals neither


@pytest.mark.django_db
def test_links_signed_over_the_value_alone_work_for_the_grace_period_after_the_upgrade(
    live_survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = sign_links(live_survey)
    old_style = {"user_braze_id": "abc", "sig": sig(secret, "abc")}
    # A secret made after the upgrade never had value-only links.
    assert Client().get(link(live_survey, **old_style)).status_code == 403

    migration = importlib.import_module(
        "sounding.destinations.braze.migrations.0003_signatures_cover_the_kind"
    )
    migration.keep_links_already_sent(apps, None)
    until = SurveyBraze.objects.get(survey=live_survey).legacy_signatures_until
    assert until is not None
    assert abs(until - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    signatures.forget()
    assert Client().get(link(live_survey, **old_style)).status_code == 200
    # Meanwhile a link of the new form stays bound to its kind.
    new_style = sig(secret, "braze_id:abc")
    assert Client().get(link(live_survey, user_email="abc", sig=new_style)).status_code == 403

    later = until + timedelta(seconds=1)
    monkeypatch.setattr(signatures.timezone, "now", lambda: later)
    assert Client().get(link(live_survey, **old_style)).status_code == 403
    assert Client().get(link(live_survey, user_braze_id="abc", sig=new_style)).status_code == 200


# A Liquid renderer for what a survey link uses: `{{ variable | filter: 'argument' | ... }}`,
# with Braze's `prepend`, `hmac_sha256_hex` and `url_param_escape`. Anything else is an error,
# so the link Sounding gives stays within what Braze's Liquid understands.
TAG = re.compile(r"\{\{(.*?)\}\}(?!\})")
FILTER = re.compile(r"^\s*(\w+)\s*(?::\s*'([^']*)'\s*)?$")


def render_liquid(template: str, profile: dict[str, str]) -> str:
    def tag(match: re.Match[str]) -> str:
        variable, *filters = match.group(1).split("|")
        value = profile[variable.strip()]
        for text in filters:
            parsed = FILTER.match(text)
            assert parsed, f"not a Liquid filter: {text!r}"
            name, argument = parsed.groups()
            if name == "prepend":
                value = argument + value
            elif name == "hmac_sha256_hex":
                value = sig(argument, value)
            elif name == "url_param_escape":
                value = quote(value, safe="")
            else:
                raise AssertionError(f"a filter Braze does not have: {name}")
        return value

    rendered = TAG.sub(tag, template)
    assert "{" not in rendered and "}" not in rendered
    return rendered


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("identifier", "recipient", "param"),
    [
        ("braze_id", "5f1e-braze", "user_braze_id"),
        ("external_id", "user 42/α", "user_external_id"),
        ("email", "Ana+News@Example.com", "user_email"),
    ],
)
def test_the_link_braze_renders_opens_and_cannot_be_turned_into_another_kind(
    live_survey: Survey, identifier: str, recipient: str, param: str
) -> None:
    secret = sign_links(live_survey)
    template = survey_link(live_survey, identifier, "", secret)
    profile = {"${braze_id}": recipient, "${user_id}": recipient, "${email_address}": recipient}
    rendered = render_liquid(template, profile) + "&nps=8"
    assert one_click(Client(), rendered, "8").status_code == 200
    response = Response.objects.get()
    assert response.identity_kind == identifier
    # The same signature beside another kind of identifier is refused.
    other = "user_external_id" if param != "user_external_id" else "user_braze_id"
    assert Client().get(rendered.replace(f"{param}=", f"{other}=")).status_code == 403
    assert Response.objects.count() == 1


# --- Refuse before you count ----------------------------------------------------------------


@pytest.mark.django_db
def test_refused_requests_do_not_spend_the_surveys_limit(
    live_survey: Survey, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "clock", lambda: 1000.0)  # no refill while the test runs
    settings.RATE_LIMIT_SURVEY = 20  # a burst of 10 for the whole survey
    settings.RATE_LIMIT_IP = 0
    secret = sign_links(live_survey)
    junk = Client()
    for i in range(30):
        forged = junk.get(link(live_survey, user_braze_id=f"u{i}", sig="0" * 64, nps="9"))
        assert forged.status_code == 403
        unsigned = junk.post(link(live_survey, user_braze_id=f"u{i}"), {"q": "nps", "a": "9"})
        assert unsigned.status_code == 403
        nobody = junk.post(live_survey.public_path(), {"q": "nps", "a": "9"})
        assert nobody.status_code == 403
        made_up = junk.post(live_survey.public_path(), {"q": "nps", "a": "9", "r": f"x{i}"})
        assert made_up.status_code == 400
    assert not Response.objects.exists()
    # Real respondents still get their burst.
    statuses = []
    for i in range(12):
        who = f"real{i}"
        real = link(live_survey, user_braze_id=who, sig=sig(secret, f"braze_id:{who}"), nps="9")
        # Opening the link spends nothing; the confirmed answer does.
        client = Client()
        statuses.append(confirm(client, page_at(client, real), "9").status_code)
    assert statuses == [200] * 10 + [429] * 2
    assert Response.objects.count() == 10


def test_every_identity_read_from_links_fits_the_response_and_has_a_reserved_parameter() -> None:
    found = destinations.identities()
    assert found, "no destination names respondents by a link parameter"
    kind_length = Response._meta.get_field("identity_kind").max_length
    for name, identity in found.items():
        assert kind_length is not None and len(name) <= kind_length
        assert identity.param in reserved_keys() and identity.param.startswith(IDENTITY_PREFIX)
