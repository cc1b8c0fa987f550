"""The in-app message and banner snippets through the API and Share pages: who gets the
secret, and that each snippet frames the survey for the survey's identifier."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sounding.destinations.braze import signing
from sounding.destinations.braze.models import BrazeSettings
from sounding.destinations.braze.setup import save_survey_config, survey_config
from sounding.surveys.models import Survey
from tests.conftest import logged_in
from tests.delivery_fixtures import integrate
from tests.test_channel_email import NPS_SURVEY, live

CHANNELS = ("in-app", "banner")


@pytest.fixture
def signed(workspace: Any, connected: BrazeSettings) -> Survey:
    survey = live(workspace, NPS_SURVEY)
    integrate(survey, identifier="external_id")
    config = survey_config(survey)
    signing.set_signed(config, True)
    save_survey_config(survey, config)
    return survey


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_snippet_shows_the_secret_only_to_an_editor_who_asks(
    channel: str, editor_api: Client, viewer_api: Client, signed: Survey
) -> None:
    url = f"/api/v1/surveys/{signed.pk}/channels/{channel}"
    secret = survey_config(signed).signing_secret()
    body = editor_api.get(url).json()
    assert f"/s/{signed.slug}?user_external_id=" in body["html"]
    assert "SIGNING_SECRET" in body["html"] and secret not in body["html"]
    assert any("allowUserSuppliedJavascript" in line for line in body["braze_settings"])
    asked = editor_api.get(url + "?include_secret=true").json()["html"]
    assert secret in asked and "SIGNING_SECRET" not in asked
    assert secret not in viewer_api.get(url).json()["html"]
    assert viewer_api.get(url + "?include_secret=true").status_code == 403


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_share_page_gives_the_snippet_and_the_braze_settings(
    channel: str, owner: Any, viewer: Any, signed: Survey
) -> None:
    secret = survey_config(signed).signing_secret()
    page = logged_in(owner).get(f"/surveys/{signed.pk}/share/{channel}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "allowUserSuppliedJavascript" in html and secret in html
    seen = logged_in(viewer).get(f"/surveys/{signed.pk}/share/{channel}").content.decode()
    assert secret not in seen and "SIGNING_SECRET" in seen
