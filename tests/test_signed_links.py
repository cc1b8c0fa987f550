"""Signed links: a survey that signs its links takes answers only for the person Braze signed,
stores nothing for anyone else, and keeps a replaced secret working for its grace period."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from sounding.accounts.models import ApiToken, User, Workspace
from sounding.answers.models import Answer, Response
from sounding.collect import ratelimit, signatures
from sounding.delivery.models import Push
from sounding.destinations.braze import signing
from sounding.destinations.braze.models import SurveyBraze
from sounding.destinations.braze.setup import save_survey_config, survey_config
from sounding.surveys.models import Survey
from tests.conftest import logged_in
from tests.delivery_fixtures import drain
from tests.respondent import one_click
from tests.standin import StandinHarness

NPS = "How likely are you to recommend us?"
JSON = "application/json"
ACTION = re.compile(r'<form method="post" action="([^"]*)"')
TOKEN = re.compile(r'<input type="hidden" name="r" value="([^"]*)"')


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    # Ids come back between tests on SQLite; the caches are keyed to survive that, but a test
    # that counts on a cold cache must not find another test's entries.
    signatures.forget()
    ratelimit.forget()


def sign_links(survey: Survey, on: bool = True) -> SurveyBraze:
    config = survey_config(survey)
    signing.set_signed(config, on)
    save_survey_config(survey, config)
    return SurveyBraze.objects.get(survey=survey)


def sig(secret: str, value: str, kind: str = "braze_id") -> str:
    """What Braze puts in `sig`: the identifier's kind and value, signed together."""
    return signatures.signature(secret.encode(), f"{kind}:{value}")


def link(survey: Survey, **params: str) -> str:
    return f"{survey.public_path()}?{urlencode(params)}"


def nothing_stored() -> bool:
    return not (Response.objects.exists() or Answer.objects.exists() or Push.objects.exists())


# --- The signature is Braze's ---------------------------------------------------------------


def test_the_signature_is_brazes_hmac_sha256_hex() -> None:
    # The example of Braze's own reference for `{{'hey' | hmac_sha256_hex: 'secret_key'}}`.
    assert signatures.signature(b"secret_key", "hey") == (
        "8df897f8da3d7992fe57c8dbc6f27578cfbf2dcc4d0fbb4000b8c924841d508e"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        (
            "braze_id",
            "?user_braze_id={{${braze_id}}}"
            "&sig={{${braze_id} | prepend: 'braze_id:' | hmac_sha256_hex: 'S'}}",
        ),
        (
            "external_id",
            "?user_external_id={{${user_id} | url_param_escape}}"
            "&sig={{${user_id} | prepend: 'external_id:' | hmac_sha256_hex: 'S'}}",
        ),
        (
            "email",
            "?user_email={{${email_address} | url_param_escape}}"
            "&sig={{${email_address} | prepend: 'email:' | hmac_sha256_hex: 'S'}}",
        ),
    ],
)
def test_the_link_signs_the_identifier_it_carries(
    live_survey: Survey, identifier: str, expected: str
) -> None:
    from sounding.destinations.braze.destination import survey_link

    assert survey_link(live_survey, identifier, "https://x.test", "S") == (
        f"https://x.test/s/{live_survey.slug}{expected}"
    )


# --- The respondent page --------------------------------------------------------------------


def test_a_forged_braze_id_stores_nothing_and_sends_nothing(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    secret = sign_links(pulse).signing_secret()
    client = Client()
    forged = [
        client.get(link(pulse, user_braze_id="victim", nps="0")),
        client.get(link(pulse, user_braze_id="victim", sig=sig(secret, "someone-else"), nps="0")),
        client.post(link(pulse, user_braze_id="victim"), {"q": "nps", "a": "0"}),
        client.post(
            link(pulse, user_braze_id="victim", sig="0" * 64), {"q": "nps", "a": "0", "r": ""}
        ),
        client.post(link(pulse, user_braze_id="victim", sig="é" * 64), {"q": "nps", "a": "0"}),
    ]
    assert [page.status_code for page in forged] == [403] * 5
    assert "This link is incomplete or was changed." in forged[0].content.decode()
    assert nothing_stored()
    drain()
    assert braze_standin.requests() == []


def test_the_right_signature_lands_the_answers_on_that_profile(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    secret = sign_links(pulse).signing_secret()
    client = Client()
    page = client.get(link(pulse, user_braze_id="abc", sig=sig(secret, "abc"), nps="9"))
    assert page.status_code == 200
    action = unescape(ACTION.search(page.content.decode())[1])
    assert "sig=" in action  # the form posts back to the signed link
    # The score is shown selected; the person confirms it, then answers the next question.
    data = {"q": "nps", "a": "9", "from_link": "1", "nav": "next"}
    confirmed = client.post(action, data, follow=True)
    token = TOKEN.search(confirmed.content.decode())[1]
    done = client.post(action, {"q": "channels", "a": ["SMS"], "r": token})
    assert done.status_code == 303 and "sig=" in done["Location"]
    response = Response.objects.get()
    assert response.identity["braze_id"] == "abc" and response.identity_kind == "braze_id"
    drain()
    assert braze_standin.users()["braze_id:abc"]["attributes"][NPS] == 9


def test_external_ids_and_emails_are_signed_as_braze_has_them(live_survey: Survey) -> None:
    secret = sign_links(live_survey).signing_secret()
    value = "Ana+test@example.com"
    signature = sig(secret, value, "email")
    ok = one_click(Client(), link(live_survey, user_email=value, sig=signature, nps="7"), "7")
    assert ok.status_code == 200
    # Signed as Braze has it, stored as Sounding matches emails: in lower case.
    assert Response.objects.get().identity["email"] == "ana+test@example.com"
    bad = Client().get(
        link(live_survey, user_external_id="u 1", sig=sig(secret, "u1", "external_id"))
    )
    assert bad.status_code == 403


def test_a_visit_without_anyone_in_the_link_is_refused_in_the_respondents_language(
    live_survey: Survey,
) -> None:
    live_survey.replace_definition({**live_survey.definition, "translations": {"fr": {}}})
    sign_links(live_survey)
    page = Client().get(live_survey.public_path(), {"lang": "fr", "nps": "9"})
    assert page.status_code == 403
    html = page.content.decode()
    assert "Ce lien ne peut pas être utilisé" in html
    assert "Ce questionnaire s’ouvre uniquement depuis le lien du message" in html
    assert '<html lang="fr">' in html
    answer = Client().post(live_survey.public_path(), {"q": "nps", "a": "9"})
    assert answer.status_code == 403
    assert nothing_stored()


def test_a_second_identity_beside_the_signed_one_is_refused(live_survey: Survey) -> None:
    secret = sign_links(live_survey).signing_secret()
    params = {"user_braze_id": "abc", "sig": sig(secret, "abc"), "user_external_id": "victim"}
    page = Client().get(link(live_survey, **params, nps="9"))
    assert page.status_code == 403
    assert nothing_stored()


def test_the_forms_token_goes_on_without_the_signature(live_survey: Survey) -> None:
    secret = sign_links(live_survey).signing_secret()
    client = Client()
    page = one_click(
        client, link(live_survey, user_braze_id="abc", sig=sig(secret, "abc"), nps="9"), "9"
    )
    token = TOKEN.search(page.content.decode())[1]
    # The plain address, as after "Change my answers" or a shortened link: the token suffices.
    answer = client.post(live_survey.public_path(), {"q": "rating", "a": "4", "r": token})
    assert answer.status_code == 303
    again = client.get(live_survey.public_path(), {"r": token, "q": "nps"})
    assert again.status_code == 200
    assert Response.objects.get().identity["braze_id"] == "abc"
    assert dict(Answer.objects.values_list("question_key", "value")) == {"nps": 9, "rating": 4}


def test_a_made_up_token_stores_nothing(live_survey: Survey) -> None:
    sign_links(live_survey)
    client = Client()
    posted = client.post(live_survey.public_path(), {"q": "nps", "a": "9", "r": "made-up"})
    assert posted.status_code == 400
    assert client.get(live_survey.public_path(), {"r": "made-up", "nps": "9"}).status_code == 403
    in_query = client.post(f"{live_survey.public_path()}?r=made-up", {"q": "nps", "a": "9"})
    assert in_query.status_code == 403
    client.cookies[f"sr_{live_survey.pk}"] = "made-up"
    assert client.post(live_survey.public_path(), {"q": "nps", "a": "9"}).status_code == 403
    assert nothing_stored()


def test_a_survey_without_signed_links_ignores_sig(live_survey: Survey) -> None:
    assert (
        one_click(Client(), link(live_survey, user_braze_id="abc", nps="9"), "9").status_code == 200
    )
    sign_links(live_survey)
    assert Client().get(link(live_survey, user_braze_id="abd", nps="9")).status_code == 403
    sign_links(live_survey, on=False)
    assert (
        one_click(Client(), link(live_survey, user_braze_id="abe", nps="9"), "9").status_code == 200
    )
    assert sorted(Response.objects.values_list("identities__braze_id", flat=True)) == ["abc", "abe"]


def test_the_members_preview_needs_no_signature(live_survey: Survey, owner: User) -> None:
    sign_links(live_survey)
    page = logged_in(owner).get(live_survey.public_path(), {"preview": "1"})
    assert page.status_code == 200


# --- Secrets --------------------------------------------------------------------------------


def test_the_secret_is_32_random_bytes_stored_encrypted(live_survey: Survey) -> None:
    config = sign_links(live_survey)
    secret = config.signing_secret()
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    assert secret not in config.signing_secret_encrypted
    other = Survey.create(live_survey.workspace, live_survey.definition)
    assert sign_links(other).signing_secret() != secret


def test_turning_signing_off_and_on_keeps_the_secret(live_survey: Survey) -> None:
    secret = sign_links(live_survey).signing_secret()
    sign_links(live_survey, on=False)
    assert sign_links(live_survey).signing_secret() == secret


def test_the_previous_secret_works_within_its_grace_period_and_not_after(
    live_survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = sign_links(live_survey).signing_secret()
    config = survey_config(live_survey)
    signing.rotate(config)
    save_survey_config(live_survey, config)
    new = config.signing_secret()
    assert new != old
    expires = config.previous_secret_expires_at
    assert expires is not None
    assert abs(expires - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)

    def opens(secret: str, who: str) -> int:
        return Client().get(link(live_survey, user_braze_id=who, sig=sig(secret, who))).status_code

    assert (opens(old, "a"), opens(new, "b")) == (200, 200)
    later = expires + timedelta(seconds=1)
    monkeypatch.setattr(signatures.timezone, "now", lambda: later)
    assert (opens(old, "c"), opens(new, "d")) == (403, 200)


def test_the_grace_period_follows_the_setting(live_survey: Survey, settings: Any) -> None:
    settings.SIGNING_GRACE_DAYS = 0
    old = sign_links(live_survey).signing_secret()
    config = survey_config(live_survey)
    signing.rotate(config)
    save_survey_config(live_survey, config)
    page = Client().get(link(live_survey, user_braze_id="a", sig=sig(old, "a")))
    assert page.status_code == 403


def test_a_second_rotation_ends_the_oldest_secret_at_once(live_survey: Survey) -> None:
    first = sign_links(live_survey).signing_secret()
    for _ in range(2):
        config = survey_config(live_survey)
        signing.rotate(config)
        save_survey_config(live_survey, config)
    keys = signing.keys_for(live_survey.pk).valid_now(timezone.now())
    assert len(keys) == 2 and first.encode() not in keys


def test_a_change_of_signing_bumps_the_survey_version_and_nothing_else_does(
    live_survey: Survey,
) -> None:
    start = Survey.objects.get(pk=live_survey.pk).version
    sign_links(live_survey)
    assert Survey.objects.get(pk=live_survey.pk).version == start + 1
    config = survey_config(live_survey)
    config.per_answer_events = True
    save_survey_config(live_survey, config)
    assert Survey.objects.get(pk=live_survey.pk).version == start + 1
    sign_links(live_survey, on=False)
    assert Survey.objects.get(pk=live_survey.pk).version == start + 2


def test_an_unreadable_secret_refuses_every_link(live_survey: Survey) -> None:
    config = sign_links(live_survey)
    SurveyBraze.objects.filter(pk=config.pk).update(signing_secret_encrypted="not-a-token")
    Survey.objects.filter(pk=live_survey.pk).update(version=live_survey.version + 5)
    page = Client().get(link(live_survey, user_braze_id="a", sig=sig("anything", "a")))
    assert page.status_code == 403


# --- The survey's Braze page ----------------------------------------------------------------


def braze_page(survey: Survey) -> str:
    return f"/surveys/{survey.pk}/integrations/braze"


def form_body(client: Client, survey: Survey, **changes: Any) -> dict[str, Any]:
    """What the page's own form posts, with `changes`."""
    html = client.get(braze_page(survey)).content.decode()
    body: dict[str, Any] = {"identifier": "braze_id"}
    for name in re.findall(r'<input type="checkbox" name="(\w+)"[^>]*checked', html):
        body[name] = "on"
    for key in survey.spec.keys:
        body[f"sync_{key}"] = "on"
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def test_an_editor_turns_signing_on_and_sees_the_secret_inside_the_link(
    live_survey: Survey, editor: User
) -> None:
    client = logged_in(editor)
    saved = client.post(braze_page(live_survey), form_body(client, live_survey, signed_links="on"))
    assert saved.status_code == 302
    config = SurveyBraze.objects.get(survey=live_survey)
    assert config.signed_links
    html = unescape(client.get(braze_page(live_survey)).content.decode())
    secret = config.signing_secret()
    signs = f"{{{{${{braze_id}} | prepend: 'braze_id:' | hmac_sha256_hex: '{secret}'}}}}"
    assert f"&sig={signs}" in html
    assert html.count(secret) == 4  # the link shown, and the three in the identifier switch
    assert "Make a new secret" in html


def test_the_button_makes_a_new_secret(live_survey: Survey, editor: User) -> None:
    old = sign_links(live_survey).signing_secret()
    client = logged_in(editor)
    answer = client.post(f"{braze_page(live_survey)}/rotate", follow=True)
    config = SurveyBraze.objects.get(survey=live_survey)
    assert config.signing_secret() != old and config.previous_secret() == old
    assert "New secret made" in answer.content.decode()
    assert "Links signed with the previous secret keep working until" in answer.content.decode()


def test_a_viewer_sees_no_secret_and_changes_nothing(live_survey: Survey, viewer: User) -> None:
    config = sign_links(live_survey)
    secret = config.signing_secret()
    client = logged_in(viewer)
    html = client.get(braze_page(live_survey)).content.decode()
    assert secret not in html and "SIGNING_SECRET" in html
    assert "Make a new secret" not in html
    off = client.post(braze_page(live_survey), form_body(client, live_survey, signed_links=None))
    rotated = client.post(f"{braze_page(live_survey)}/rotate")
    assert (off.status_code, rotated.status_code) == (403, 403)
    after = SurveyBraze.objects.get(survey=live_survey)
    assert after.signed_links and after.signing_secret() == secret


def test_another_workspace_cannot_rotate(live_survey: Survey, outsider: User) -> None:
    secret = sign_links(live_survey).signing_secret()
    assert logged_in(outsider).post(f"{braze_page(live_survey)}/rotate").status_code == 404
    assert SurveyBraze.objects.get(survey=live_survey).signing_secret() == secret


# --- The API --------------------------------------------------------------------------------


def api(workspace: Workspace, user: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(workspace, user)[1]}")


def put(client: Client, survey: Survey, body: Any) -> Any:
    url = f"/api/v1/surveys/{survey.pk}/integrations/braze"
    return client.put(url, json.dumps(body), content_type=JSON)


def test_the_api_round_trips_signed_links_and_never_shows_the_secret(
    live_survey: Survey, workspace: Workspace, editor: User
) -> None:
    client = api(workspace, editor)
    on = put(client, live_survey, {"signed_links": True})
    assert on.status_code == 200
    body = on.json()
    assert body["signed_links"] is True and body["signing_secret_created_at"]
    assert body["previous_signing_secret_valid_until"] is None
    assert body["link"].endswith(
        "?user_braze_id={{${braze_id}}}"
        "&sig={{${braze_id} | prepend: 'braze_id:' | hmac_sha256_hex: 'SIGNING_SECRET'}}"
    )
    url = f"/api/v1/surveys/{live_survey.pk}/integrations/braze"
    assert client.get(url).json()["signed_links"] is True
    first = SurveyBraze.objects.get(survey=live_survey).signing_secret()
    rotated = put(client, live_survey, {"rotate_signing_secret": True})
    assert rotated.json()["previous_signing_secret_valid_until"]
    second = SurveyBraze.objects.get(survey=live_survey).signing_secret()
    assert second != first
    answers = [on, rotated, client.get(url), client.get("/api/v1/openapi.json")]
    for answer in answers:
        text = answer.content.decode()
        assert first not in text and second not in text
    off = put(client, live_survey, {"signed_links": False}).json()
    assert off["signed_links"] is False and "sig=" not in off["link"]


def test_the_api_refuses_bad_signing_fields(
    live_survey: Survey, workspace: Workspace, editor: User
) -> None:
    client = api(workspace, editor)
    answer = put(client, live_survey, {"signed_links": "yes", "rotate_signing_secret": 1})
    assert answer.status_code == 400
    paths = {e["path"]: e["message"] for e in answer.json()["errors"]}
    assert paths == {
        "$.signed_links": "must be true or false",
        "$.rotate_signing_secret": "must be true or false",
    }
    unsigned = put(client, live_survey, {"rotate_signing_secret": True})
    assert unsigned.status_code == 400
    assert unsigned.json()["errors"][0]["path"] == "$.rotate_signing_secret"
    assert not SurveyBraze.objects.filter(survey=live_survey).exists()


def test_a_viewer_token_cannot_change_signing(
    live_survey: Survey, workspace: Workspace, viewer: User
) -> None:
    answer = put(api(workspace, viewer), live_survey, {"signed_links": True})
    assert answer.status_code == 403
    assert not SurveyBraze.objects.filter(survey=live_survey, signed_links=True).exists()


# --- In a browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_signing_on_a_phone_reads_well_and_has_no_serious_accessibility_violation(
    live_server: Any, phone: Any, owner: User, pulse: Survey
) -> None:
    from django.conf import settings

    from tests.browser_fixtures import screenshot, serious_violations

    cookie = logged_in(owner).cookies[settings.SESSION_COOKIE_NAME].value
    phone.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    phone.goto(live_server.url + braze_page(pulse))
    phone.get_by_label("Sign the links").check()
    phone.get_by_role("button", name="Save").click()
    phone.wait_for_load_state()
    secret = SurveyBraze.objects.get(survey=pulse).signing_secret()
    assert secret in phone.get_by_label("Link for a Braze message").input_value()
    assert phone.get_by_role("heading", name="Signed links").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert serious_violations(phone) == []
    screenshot(phone, "braze-signed-links-phone")

    phone.get_by_role("button", name="Make a new secret").click()
    phone.wait_for_load_state()
    assert "keep working until" in phone.content()
    assert SurveyBraze.objects.get(survey=pulse).signing_secret() != secret

    phone.goto(live_server.url + link(pulse, user_braze_id="victim", nps="3"))
    assert phone.get_by_role("heading", name="This link cannot be used").is_visible()
    assert serious_violations(phone) == []
    screenshot(phone, "respond-signed-link-refused-phone")
    assert not Response.objects.exists()
