"""The first question inside a Braze email (`GET /api/v1/surveys/{id}/channels/email`).

The email is rendered the way Braze renders it for one recipient (the `brazejs` engine, with
`hmac_sha256_hex` registered as Braze documents it), its links are taken as a mail client
would (HTML parsed, `lid=` appended as Braze's link aliasing does), and opened: a plain GET of
every one stores and sends nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from sounding.accounts.models import Workspace
from sounding.answers.models import Answer, LinkClick, Response
from sounding.collect import ratelimit, signatures
from sounding.delivery.models import Push
from sounding.destinations.braze import signing
from sounding.destinations.braze.channels import email
from sounding.destinations.braze.models import BrazeSettings
from sounding.destinations.braze.setup import save_survey_config, survey_config
from sounding.surveys.models import Status, Survey
from tests.conftest import logged_in
from tests.delivery_fixtures import integrate

JS = Path(__file__).resolve().parent / "js"
NPS = "How likely are you to recommend us?"
NPS_SURVEY = {
    "title": "How did we do?",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": NPS, "required": True},
        {"key": "why", "type": "long_text", "prompt": "What is the main reason for your score?"},
    ],
}
SAMPLE_USER = {"braze_id": "e1", "user_id": "u-42", "email_address": "Ana+test@example.com"}


def api_url(survey: Survey, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/surveys/{survey.pk}/channels/email" + (f"?{query}" if query else "")


def live(workspace: Workspace, definition: dict[str, Any]) -> Survey:
    survey = Survey.create(workspace, definition)
    survey.set_status(Status.LIVE)
    return survey


def first_question(question: dict[str, Any]) -> dict[str, Any]:
    return {"title": "One question", "questions": [{"key": "pick", "prompt": "Pick", **question}]}


class Links(HTMLParser):
    """The links a mail client finds in a message: every `<a href>`, entities decoded."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href, self._text = dict(attrs).get("href") or "", ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.found.append((self._text.strip(), self._href))
            self._href = None


def links_of(html: str) -> list[tuple[str, str]]:
    parser = Links()
    parser.feed(html)
    return parser.found


def aliased(url: str, lid: str) -> str:
    """What Braze's link aliasing makes of a link: `lid` added before any fragment."""
    head, hash_, fragment = url.partition("#")
    return f"{head}{'&' if '?' in head else '?'}lid={lid}{hash_}{fragment}"


def node_tools() -> Path:
    if shutil.which("node") is None or not (JS / "node_modules" / "brazejs").is_dir():
        missing = "node and tests/js/node_modules are needed: npm ci --prefix tests/js"
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    return JS


def render_liquid(template: str, context: dict[str, Any]) -> str:
    tools = node_tools()
    done = subprocess.run(
        ["node", str(tools / "liquid.js")],
        input=json.dumps({"template": template, "context": context}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    ratelimit.forget()
    signatures.forget()


@pytest.fixture
def nps_survey(workspace: Workspace, connected: BrazeSettings) -> Survey:
    survey = live(workspace, NPS_SURVEY)
    integrate(survey)
    return survey


# --- The Liquid engine the tests render with --------------------------------------------------


@pytest.mark.any_db
def test_the_liquid_engine_signs_as_braze_documents() -> None:
    # Braze's filter reference: {{'hey' | hmac_sha256_hex: 'secret_key'}}.
    out = render_liquid("{{'hey' | hmac_sha256_hex: 'secret_key'}}", {})
    assert out == "8df897f8da3d7992fe57c8dbc6f27578cfbf2dcc4d0fbb4000b8c924841d508e"
    assert render_liquid("{{${braze_id}}}", {"braze_id": "e1"}) == "e1"


# --- The NPS embed, rendered for one recipient ------------------------------------------------


def test_an_nps_email_rendered_for_a_recipient_has_eleven_links_that_answer_nothing(
    owner_api: Client, nps_survey: Survey
) -> None:
    reply = owner_api.get(api_url(nps_survey))
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["question"] == "nps" and body["language"] == "en"
    assert len(body["html"].encode()) < email.MAX_BYTES

    html = render_liquid(body["html"], SAMPLE_USER)
    found = links_of(html)
    assert [label for label, _ in found] == [str(n) for n in range(11)]
    scanner = Client()
    for score, (_, href) in enumerate(found):
        url = urlsplit(aliased(href, f"lid{score}"))
        assert url.path == nps_survey.public_path()
        params = parse_qs(url.query)
        assert params["user_braze_id"] == ["e1"]
        assert params["nps"] == [str(score)]
        page = scanner.get(f"{url.path}?{url.query}")
        assert page.status_code == 200
        # The score is offered, selected, not stored.
        assert re.search(rf'value="{score}"[^>]*\bchecked\b', page.content.decode())
        assert scanner.head(f"{url.path}?{url.query}").status_code == 200

    assert Response.objects.count() == 0
    assert Answer.objects.count() == 0
    assert Push.objects.count() == 0
    assert LinkClick.objects.exclude(confirmed_at=None).count() == 0
    # The text version carries the same eleven answers.
    text_links = re.findall(r"https?://\S+", render_liquid(body["text"], SAMPLE_USER))
    assert len(text_links) == 11
    assert [parse_qs(urlsplit(u).query)["nps"] for u in text_links] == [[str(n)] for n in range(11)]


def test_a_signed_survey_email_carries_a_signature_the_page_accepts(
    editor_api: Client, nps_survey: Survey
) -> None:
    config = survey_config(nps_survey)
    signing.set_signed(config, True)
    save_survey_config(nps_survey, config)

    # Without asking, the secret stays out of the answer, as it does from the link.
    shown = editor_api.get(api_url(nps_survey)).json()
    assert "hmac_sha256_hex: 'SIGNING_SECRET'" in shown["html"]
    assert config.signing_secret() not in shown["html"]

    body = editor_api.get(api_url(nps_survey, include_secret="true")).json()
    assert f"hmac_sha256_hex: '{config.signing_secret()}'" in body["html"]
    _, href = links_of(render_liquid(body["html"], SAMPLE_USER))[7]
    url = urlsplit(aliased(href, "x7f3kq2m9pz1"))
    # Click tracking adds its own parameters too; the signature still holds.
    page = Client().get(f"{url.path}?{url.query}&utm_source=braze")
    assert page.status_code == 200, page.content.decode()[:300]
    assert re.search(r'value="7"[^>]*\bchecked\b', page.content.decode())
    assert Response.objects.count() == 0

    # Someone else's id under that signature is refused.
    forged = url.query.replace("user_braze_id=e1", "user_braze_id=e2")
    assert Client().get(f"{url.path}?{forged}").status_code == 403


def test_viewers_never_get_the_secret(viewer_api: Client, nps_survey: Survey) -> None:
    config = survey_config(nps_survey)
    signing.set_signed(config, True)
    save_survey_config(nps_survey, config)
    assert viewer_api.get(api_url(nps_survey)).status_code == 200
    refused = viewer_api.get(api_url(nps_survey, include_secret="true"))
    assert refused.status_code == 403
    assert "SIGNING_SECRET" in refused.json()["detail"]


def test_another_workspace_sees_no_survey(outsider_api: Client, nps_survey: Survey) -> None:
    assert outsider_api.get(api_url(nps_survey)).status_code == 404


# --- Every question type that fits in an email ------------------------------------------------


@pytest.mark.parametrize(
    ("question", "labels", "values"),
    [
        ({"type": "rating"}, ["1", "2", "3", "4", "5"], ["1", "2", "3", "4", "5"]),
        ({"type": "scale", "min": 0, "max": 3}, ["0", "1", "2", "3"], ["0", "1", "2", "3"]),
        (
            {"type": "csat"},
            ["Very unsatisfied", "Unsatisfied", "Neutral", "Satisfied", "Very satisfied"],
            ["1", "2", "3", "4", "5"],
        ),
        ({"type": "yes_no"}, ["Yes", "No"], ["yes", "no"]),
        (
            {"type": "single_choice", "choices": ["Price", "Speed & quality"]},
            ["Price", "Speed & quality"],
            ["Price", "Speed & quality"],
        ),
        (
            {"type": "dropdown", "choices": ["A", "B"], "allow_other": True},
            ["A", "B", "Other"],
            ["A", "B", None],
        ),
    ],
)
def test_each_embeddable_type_offers_its_answers_as_links_the_page_understands(
    owner_api: Client,
    workspace: Workspace,
    question: dict[str, Any],
    labels: list[str],
    values: list[str | None],
) -> None:
    survey = live(workspace, first_question(question))
    body = owner_api.get(api_url(survey)).json()
    found = links_of(render_liquid(body["html"], SAMPLE_USER))
    assert [label for label, _ in found] == labels
    for (_, href), value in zip(found, values, strict=True):
        url = urlsplit(href)
        assert parse_qs(url.query).get("pick") == ([value] if value is not None else None)
        page = Client().get(f"{url.path}?{url.query}")
        assert page.status_code == 200
        if value is not None:
            # The page shows that answer selected: the link means what its label says.
            assert 'data-question="pick"' in page.content.decode()
            assert "checked" in page.content.decode() or "selected" in page.content.decode()
    assert Response.objects.count() == 0


def test_a_translated_survey_reads_in_the_asked_language(
    owner_api: Client, workspace: Workspace
) -> None:
    definition = first_question({"type": "single_choice", "choices": ["Price", "Speed"]})
    definition["translations"] = {
        "fr": {"questions": {"pick": {"prompt": "Choisissez", "choices": {"Price": "Prix"}}}}
    }
    survey = live(workspace, definition)
    body = owner_api.get(api_url(survey, lang="fr")).json()
    assert body["language"] == "fr"
    assert 'lang="fr"' in body["html"] and "Choisissez" in body["html"]
    found = links_of(body["html"])
    assert [label for label, _ in found] == ["Prix", "Speed"]
    # The link carries the stored value and the page's language.
    assert parse_qs(urlsplit(found[0][1]).query) == {
        "user_braze_id": ["{{${braze_id}}}"],
        "lang": ["fr"],
        "pick": ["Price"],
    }
    unknown = owner_api.get(api_url(survey, lang="de"))
    assert unknown.status_code == 400
    assert "fr" in unknown.json()["detail"]


@pytest.mark.parametrize(
    ("question", "why"),
    [
        ({"type": "long_text"}, "type or pick several"),
        ({"type": "multiple_choice", "choices": ["A", "B"]}, "type or pick several"),
        ({"type": "single_choice", "choices": [f"C{i}" for i in range(9)]}, "9 choices"),
    ],
)
def test_a_first_question_an_email_cannot_take_says_why(
    owner_api: Client, workspace: Workspace, question: dict[str, Any], why: str
) -> None:
    survey = live(workspace, first_question(question))
    reply = owner_api.get(api_url(survey))
    assert reply.status_code == 409
    assert why in reply.json()["detail"]


def test_the_brand_and_the_identifier_shape_the_email(
    owner_api: Client, workspace: Workspace, connected: BrazeSettings
) -> None:
    from sounding.branding.models import WorkspaceBrand

    WorkspaceBrand.objects.create(workspace=workspace, accent="#0B7A4B", button_shape="pill")
    survey = live(workspace, NPS_SURVEY)
    integrate(survey, identifier="email")
    body = owner_api.get(api_url(survey)).json()
    assert "#0B7A4B" in body["html"] and "border-radius:22px" in body["html"]
    _, href = links_of(render_liquid(body["html"], SAMPLE_USER))[0]
    assert parse_qs(urlsplit(href).query)["user_email"] == ["Ana+test@example.com"]


# --- Email-safe HTML -------------------------------------------------------------------------


# tests/js/email-html.json: html-validate's recommended rules, less those that forbid what
# email needs (inline styles, Outlook's conditional comments, table attributes) and the
# preference for role="none" over role="presentation", which mail clients' readers know better.
def test_the_html_validates_and_stays_small_with_long_choices(
    owner_api: Client, workspace: Workspace
) -> None:
    long = [f"{'A long choice label ' * 9}{i}"[:200] for i in range(8)]
    survey = live(workspace, first_question({"type": "single_choice", "choices": long}))
    body = owner_api.get(api_url(survey)).json()
    assert len(body["html"].encode()) < email.MAX_BYTES
    nps = live(workspace, NPS_SURVEY)
    for html in (body["html"], owner_api.get(api_url(nps)).json()["html"]):
        rendered = render_liquid(html, SAMPLE_USER)
        done = subprocess.run(
            [
                str(JS / "node_modules" / ".bin" / "html-validate"),
                "--config",
                str(JS / "email-html.json"),
                "--stdin",
            ],
            input=rendered,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_every_answer_is_a_tap_target_and_the_dark_scheme_is_declared(
    owner_api: Client, nps_survey: Survey
) -> None:
    html = owner_api.get(api_url(nps_survey)).json()["html"]
    assert html.count(f"line-height:{email.TAP - 4}px") == 11
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "@media (prefers-color-scheme:dark)" in html
    assert "<form" not in html and "<script" not in html


# --- The survey page: Share → Email -----------------------------------------------------------


def test_the_share_page_shows_the_email_and_its_settings(owner: Any, nps_survey: Survey) -> None:
    page = logged_in(owner).get(f"/surveys/{nps_survey.pk}/share/email")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Inline CSS" in html
    assert html.count("user_braze_id={{${braze_id}}}") >= 11
    assert "<iframe" in html  # the preview


def test_the_share_page_explains_a_question_it_cannot_embed(
    owner: Any, workspace: Workspace
) -> None:
    survey = live(workspace, first_question({"type": "long_text"}))
    html = logged_in(owner).get(f"/surveys/{survey.pk}/share/email").content.decode()
    assert "type or pick several" in html
    assert f"{survey.public_path()}?user_braze_id=" in html


def test_author_text_that_looks_like_liquid_reaches_the_recipient_as_typed(
    owner_api: Client, workspace: Workspace
) -> None:
    # Braze renders the whole email as Liquid: a prompt with braces must neither run nor break
    # the send.
    prompt = "Was {{ price }} fair? {% if x %} {% endraw %}"
    definition = first_question({"type": "single_choice", "choices": ["{{ a }}", "B"]})
    definition["questions"][0]["prompt"] = prompt
    survey = live(workspace, definition)
    body = owner_api.get(api_url(survey)).json()
    html = render_liquid(body["html"], SAMPLE_USER)
    shown = Links()
    shown.feed(html)
    assert [label for label, _ in shown.found] == ["{{ a }}", "B"]
    assert prompt.replace("<", "&lt;") in _unescape(html)
    assert parse_qs(urlsplit(shown.found[0][1]).query)["pick"] == ["{{ a }}"]
    text = render_liquid(body["text"], SAMPLE_USER)
    assert "Was {{ price }} fair?" in text and "{{ a }}: " in text


def _unescape(html: str) -> str:
    from html import unescape

    return unescape(html)


def test_the_survey_link_carries_the_secret_only_when_an_editor_asks(
    editor_api: Client, viewer_api: Client, nps_survey: Survey
) -> None:
    config = survey_config(nps_survey)
    signing.set_signed(config, True)
    save_survey_config(nps_survey, config)
    url = f"/api/v1/surveys/{nps_survey.pk}/integrations/braze"
    secret = config.signing_secret()
    assert "'SIGNING_SECRET'" in editor_api.get(url).json()["link"]
    asked = editor_api.get(url + "?include_secret=true").json()["link"]
    assert f"hmac_sha256_hex: '{secret}'" in asked
    assert "'SIGNING_SECRET'" in viewer_api.get(url).json()["link"]
    assert viewer_api.get(url + "?include_secret=true").status_code == 403
    # An unsigned survey's link has no signature to carry, asked or not.
    signing.set_signed(config, False)
    save_survey_config(nps_survey, config)
    assert "sig=" not in editor_api.get(url + "?include_secret=true").json()["link"]
