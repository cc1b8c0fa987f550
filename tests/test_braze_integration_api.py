"""The Braze endpoints: the workspace's connection (`/integrations/braze`) and each survey's
integration (`/surveys/{id}/integrations/braze`), with who may call which."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from sounding.accounts.models import Workspace
from sounding.answers.models import Response
from sounding.delivery.models import Lane, Push
from sounding.destinations.braze import errors
from sounding.destinations.braze.models import BrazeSettings, SurveyBraze
from sounding.surveys.models import Survey
from tests.conftest import bearer

JSON = "application/json"
KEY = "a1b2c3d4-e5f6-4711-9abc-secretkey9f3c"
SETTINGS = "/api/v1/integrations/braze"
SETTINGS_FIELDS = {
    "rest_endpoint",
    "cluster",
    "api_key_set",
    "requests_per_second",
    "batch_limit",
    "paused",
    "paused_reason",
    "last_success_at",
    "last_error",
}


def put(api: Client, url: str, data: Any) -> Any:
    return api.put(url, json.dumps(data), content_type=JSON)


def survey_url(survey: Survey) -> str:
    return f"/api/v1/surveys/{survey.pk}/integrations/braze"


def paths(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.content
    return {e["path"]: e["message"] for e in response.json()["errors"]}


@pytest.fixture
def connected(workspace: Workspace) -> BrazeSettings:
    found = BrazeSettings(workspace=workspace, rest_endpoint="https://rest.iad-03.braze.com")
    found.set_api_key(KEY)
    found.save()
    return found


# --- The connection -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_workspace_never_connected_reads_as_empty(viewer_api: Client) -> None:
    body = viewer_api.get(SETTINGS).json()
    assert body == {
        "rest_endpoint": None,
        "cluster": None,
        "api_key_set": False,
        "requests_per_second": None,
        "batch_limit": "75_combined",
        "paused": False,
        "paused_reason": "",
        "last_success_at": None,
        "last_error": "",
    }


@pytest.mark.django_db
def test_an_owner_connects_with_a_cluster_name_and_reads_it_back_without_the_key(
    owner_api: Client, viewer_api: Client, workspace: Workspace
) -> None:
    saved = put(owner_api, SETTINGS, {"rest_endpoint": "us-03", "api_key": KEY})
    assert saved.status_code == 200, saved.content
    body = saved.json()
    assert set(body) == SETTINGS_FIELDS
    assert body["rest_endpoint"] == "https://rest.iad-03.braze.com"
    assert body["cluster"] == "US-03"
    assert body["api_key_set"] is True
    read = viewer_api.get(SETTINGS)
    assert read.json() == body
    for response in (saved, read):
        assert KEY not in response.content.decode()
        assert "9f3c" not in response.content.decode()
    assert BrazeSettings.objects.get(workspace=workspace).api_key() == KEY


@pytest.mark.django_db
def test_the_key_is_encrypted_in_the_database(owner_api: Client, workspace: Workspace) -> None:
    put(owner_api, SETTINGS, {"rest_endpoint": "EU-01", "api_key": KEY})
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM braze_brazesettings")
        row = " ".join(str(v) for v in cursor.fetchone())
    assert KEY not in row


@pytest.mark.django_db
def test_a_dashboard_address_is_resolved_to_its_rest_endpoint(owner_api: Client) -> None:
    body = put(
        owner_api,
        SETTINGS,
        {"rest_endpoint": "https://dashboard-02.braze.eu/dashboard", "api_key": KEY},
    ).json()
    assert body["rest_endpoint"] == "https://rest.fra-02.braze.eu"
    assert body["cluster"] == "EU-02"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("http://rest.iad-03.braze.com", "Braze is only reached over https://."),
        ("http://127.0.0.1:9911", "Plain http:// is refused"),
        ("https://braze.attacker.example", "braze.attacker.example is not a Braze cluster."),
        ("", "Choose your Braze cluster or paste its REST endpoint."),
        (42, "must be a cluster name or an address, as text"),
    ],
)
def test_an_endpoint_that_is_not_a_braze_cluster_is_refused_with_its_path(
    owner_api: Client, endpoint: Any, message: str
) -> None:
    response = put(owner_api, SETTINGS, {"rest_endpoint": endpoint, "api_key": KEY})
    assert message in paths(response)["$.rest_endpoint"]
    assert response.json()["detail"] == "The Braze settings are not valid."
    assert not BrazeSettings.objects.exists()


@pytest.mark.django_db
def test_an_address_the_operator_allowed_is_accepted_without_a_cluster_name(
    owner_api: Client, settings: Any
) -> None:
    settings.BRAZE_ALLOWED_ENDPOINTS = ["http://127.0.0.1:9911"]
    body = put(owner_api, SETTINGS, {"rest_endpoint": "http://127.0.0.1:9911", "api_key": KEY})
    assert body.json()["rest_endpoint"] == "http://127.0.0.1:9911"
    assert body.json()["cluster"] is None


@pytest.mark.django_db
def test_the_first_put_needs_an_endpoint_and_a_key(owner_api: Client) -> None:
    problems = paths(put(owner_api, SETTINGS, {}))
    assert problems == {
        "$.rest_endpoint": "is required the first time",
        "$.api_key": "is required the first time",
    }


@pytest.mark.django_db
def test_omitted_fields_keep_their_value_and_the_key_stays(
    owner_api: Client, connected: BrazeSettings
) -> None:
    body = put(owner_api, SETTINGS, {"requests_per_second": 50}).json()
    assert body["rest_endpoint"] == "https://rest.iad-03.braze.com"
    assert body["requests_per_second"] == 50
    assert body["api_key_set"] is True
    body = put(owner_api, SETTINGS, {"rest_endpoint": "US-08"}).json()
    assert body["requests_per_second"] == 50
    connected.refresh_from_db()
    assert connected.api_key() == KEY
    assert connected.rest_endpoint == "https://rest.iad-08.braze.com"
    assert (
        put(owner_api, SETTINGS, {"requests_per_second": None}).json()["requests_per_second"]
        is None
    )


@pytest.mark.django_db
def test_the_objects_per_request_follow_the_contract_set_and_are_kept_when_omitted(
    owner_api: Client, connected: BrazeSettings
) -> None:
    assert owner_api.get(SETTINGS).json()["batch_limit"] == "75_combined"
    for contract in ("50_combined", "75_per_array", "75_combined", "50_combined"):
        assert put(owner_api, SETTINGS, {"batch_limit": contract}).json()["batch_limit"] == contract
    assert put(owner_api, SETTINGS, {"rest_endpoint": "US-08"}).json()["batch_limit"] == (
        "50_combined"
    )
    connected.refresh_from_db()
    assert connected.batch_limit == "50_combined"
    for bad in ("75", "100_combined", None, 50, ["50_combined"]):
        problems = paths(put(owner_api, SETTINGS, {"batch_limit": bad}))
        assert problems == {
            "$.batch_limit": "must be one of: 75_combined, 50_combined, 75_per_array"
        }
    assert owner_api.get(SETTINGS).json()["batch_limit"] == "50_combined"


@pytest.mark.django_db
def test_only_owners_choose_the_objects_per_request(
    viewer_api: Client, editor_api: Client, connected: BrazeSettings
) -> None:
    for api in (viewer_api, editor_api):
        assert put(api, SETTINGS, {"batch_limit": "50_combined"}).status_code == 403
    connected.refresh_from_db()
    assert connected.batch_limit == "75_combined"


@pytest.mark.django_db
def test_bad_values_are_each_reported_at_their_path(
    owner_api: Client, connected: BrazeSettings
) -> None:
    problems = paths(
        put(
            owner_api,
            SETTINGS,
            {"api_key": "", "requests_per_second": True, "region": "eu"},
        )
    )
    assert set(problems) == {"$.api_key", "$.requests_per_second", "$.region"}
    assert "leave it out to keep the saved one" in problems["$.api_key"]
    assert "from 1 to 10000" in problems["$.requests_per_second"]
    for budget in (0, 10_001, "5", 2.5):
        assert "$.requests_per_second" in paths(
            put(owner_api, SETTINGS, {"requests_per_second": budget})
        )
    spaced = paths(put(owner_api, SETTINGS, {"api_key": "abc def"}))
    assert "no spaces" in spaced["$.api_key"]
    assert paths(put(owner_api, SETTINGS, ["US-03"])) == {"$": "must be a JSON object"}


@pytest.mark.django_db
def test_only_owners_may_change_the_connection(
    editor_api: Client, viewer_api: Client, connected: BrazeSettings
) -> None:
    for api in (editor_api, viewer_api):
        response = put(api, SETTINGS, {"rest_endpoint": "EU-01"})
        assert response.status_code == 403
        assert "only owners may change the Braze connection" in response.json()["detail"]
        assert api.get(SETTINGS).status_code == 200
    connected.refresh_from_db()
    assert connected.rest_endpoint == "https://rest.iad-03.braze.com"


@pytest.mark.django_db
def test_the_connection_needs_a_token(workspace: Workspace) -> None:
    assert Client().get(SETTINGS).status_code == 401
    assert put(Client(), SETTINGS, {"rest_endpoint": "US-01"}).status_code == 401


@pytest.mark.django_db
def test_each_workspace_reads_and_writes_only_its_own_connection(
    outsider_api: Client, viewer_api: Client, connected: BrazeSettings
) -> None:
    assert outsider_api.get(SETTINGS).json()["rest_endpoint"] is None
    put(outsider_api, SETTINGS, {"rest_endpoint": "KR-01", "api_key": "x" * 32})
    assert viewer_api.get(SETTINGS).json()["cluster"] == "US-03"


@pytest.mark.django_db
def test_a_put_lifts_a_pause_and_the_state_is_reported(
    owner_api: Client, workspace: Workspace, connected: BrazeSettings
) -> None:
    Lane.objects.create(
        workspace=workspace,
        destination="braze",
        paused_reason=errors.WRONG_KEY,
        paused_at=timezone.now(),
        last_error=errors.WRONG_KEY,
        last_success_at=timezone.now(),
    )
    before = owner_api.get(SETTINGS).json()
    assert before["paused"] is True and before["paused_reason"] == errors.WRONG_KEY
    assert before["last_error"] == errors.WRONG_KEY and before["last_success_at"]
    after = put(owner_api, SETTINGS, {"api_key": "b" * 36}).json()
    assert after["paused"] is False and after["paused_reason"] == ""


# --- A survey's integration -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_survey_never_set_up_reads_as_off_with_the_braze_id_link(
    viewer_api: Client, live_survey: Survey
) -> None:
    body = viewer_api.get(survey_url(live_survey)).json()
    assert body["enabled"] is False
    assert body["identifier"] == "braze_id"
    assert body["attribute_names"] == {}
    assert body["events"] == {"per_answer": False, "on_completion": False}
    assert (
        body["link"]
        == f"http://testserver/s/{live_survey.slug}?user_braze_id={{{{${{braze_id}}}}}}"
    )
    assert body["attributes"][0] == {
        "question_key": "nps",
        "prompt": "How likely are you to recommend us?",
        "attribute_name": "How likely are you to recommend us?",
        "kept": False,
        "other_attribute_name": None,
    }
    assert [a["question_key"] for a in body["attributes"]] == live_survey.spec.keys
    assert body["unsent_responses"] == 0
    assert body["backfilled"] is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("identifier", "suffix"),
    [
        ("braze_id", "?user_braze_id={{${braze_id}}}"),
        ("external_id", "?user_external_id={{${user_id} | url_param_escape}}"),
        ("email", "?user_email={{${email_address} | url_param_escape}}"),
    ],
)
def test_the_link_carries_the_chosen_identifier_in_liquid(
    editor_api: Client, live_survey: Survey, settings: Any, identifier: str, suffix: str
) -> None:
    settings.SITE_URL = "https://surveys.example.com"
    body = put(editor_api, survey_url(live_survey), {"identifier": identifier}).json()
    assert body["identifier"] == identifier
    assert body["link"] == f"https://surveys.example.com/s/{live_survey.slug}{suffix}"


@pytest.mark.django_db
def test_turning_it_on_and_off_updates_the_surveys_destinations(
    editor_api: Client, live_survey: Survey
) -> None:
    assert put(editor_api, survey_url(live_survey), {"enabled": True}).json()["enabled"] is True
    live_survey.refresh_from_db()
    assert live_survey.destinations == ["braze"]
    assert SurveyBraze.objects.get(survey=live_survey).enabled
    put(editor_api, survey_url(live_survey), {"enabled": True})
    live_survey.refresh_from_db()
    assert live_survey.destinations == ["braze"]
    put(editor_api, survey_url(live_survey), {"enabled": False})
    live_survey.refresh_from_db()
    assert live_survey.destinations == []
    assert not SurveyBraze.objects.get(survey=live_survey).enabled


@pytest.mark.django_db
def test_names_and_events_are_saved_and_omitted_fields_stay(
    owner_api: Client, live_survey: Survey
) -> None:
    url = survey_url(live_survey)
    put(
        owner_api,
        url,
        {
            "enabled": True,
            "identifier": "external_id",
            "attribute_names": {"nps": "NPS score", "feedback": None},
            "events": {"per_answer": True, "on_completion": True},
        },
    )
    body = put(owner_api, url, {"events": {"per_answer": False}}).json()
    assert body["enabled"] is True and body["identifier"] == "external_id"
    assert body["events"] == {"per_answer": False, "on_completion": True}
    assert body["attribute_names"] == {"nps": "NPS score", "feedback": None}
    effective = {a["question_key"]: a["attribute_name"] for a in body["attributes"]}
    assert effective["nps"] == "NPS score"
    assert effective["feedback"] is None
    assert effective["rating"] == "Rate the app"
    config = SurveyBraze.objects.get(survey=live_survey)
    assert config.per_answer_events is False and config.completion_event is True


@pytest.mark.django_db
def test_sent_attribute_names_replace_the_stored_ones(
    owner_api: Client, live_survey: Survey
) -> None:
    url = survey_url(live_survey)
    put(owner_api, url, {"attribute_names": {"nps": "NPS score", "feedback": None}})
    body = put(owner_api, url, {"attribute_names": {"rating": "App rating"}}).json()
    assert body["attribute_names"] == {"rating": "App rating"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("names", "path", "message"),
    [
        ({"nps": "x" * 256}, "nps", "Keep the attribute name to 255 characters (it has 256)."),
        ({"nps": "$score"}, "nps", "Braze reserves names starting with $"),
        ({"nps": "email"}, "nps", "“email” is a standard Braze profile field"),
        ({"rating": "first_name"}, "rating", "“first_name” is a standard Braze profile field"),
        ({"rating": "Score", "csat": "Score"}, "csat", "“Score” is already the attribute name"),
        ({"nps": " padded"}, "nps", "Remove the spaces at the start or end of the name."),
        ({"colour": "Colour"}, "colour", "There is no question with the key “colour”"),
        ({"nps": 7}, "nps", "must be the attribute name as text, or null"),
    ],
)
def test_names_braze_would_refuse_are_reported_at_their_question(
    editor_api: Client, live_survey: Survey, names: dict[str, Any], path: str, message: str
) -> None:
    response = put(editor_api, survey_url(live_survey), {"enabled": True, "attribute_names": names})
    assert message in paths(response)[f"$.attribute_names.{path}"]
    assert response.json()["detail"] == "The survey's Braze integration is not valid."
    assert not SurveyBraze.objects.exists()
    live_survey.refresh_from_db()
    assert live_survey.destinations == []


@pytest.mark.django_db
def test_a_name_taken_from_a_prompt_is_checked_when_the_integration_goes_on(
    owner_api: Client, workspace: Workspace
) -> None:
    survey = Survey.create(
        workspace, {"title": "T", "questions": [{"key": "e", "type": "email", "prompt": "email"}]}
    )
    assert put(owner_api, survey_url(survey), {"identifier": "email"}).status_code == 200
    problems = paths(put(owner_api, survey_url(survey), {"enabled": True}))
    assert "standard Braze profile field" in problems["$.attribute_names.e"]
    fixed = put(owner_api, survey_url(survey), {"enabled": True, "attribute_names": {"e": None}})
    assert fixed.status_code == 200
    assert fixed.json()["attributes"] == [
        {
            "question_key": "e",
            "prompt": "email",
            "attribute_name": None,
            "kept": False,
            "other_attribute_name": None,
        }
    ]


@pytest.mark.django_db
def test_other_bad_fields_are_each_reported(owner_api: Client, live_survey: Survey) -> None:
    problems = paths(
        put(
            owner_api,
            survey_url(live_survey),
            {
                "enabled": "yes",
                "identifier": "phone",
                "events": {"per_answer": 1, "on_open": True},
                "attribute_names": ["nps"],
                "colour": "blue",
            },
        )
    )
    assert problems == {
        "$.colour": "is not a field here (enabled, identifier, attribute_names, events, "
        "signed_links, rotate_signing_secret, backfill, on_rename)",
        "$.enabled": "must be true or false",
        "$.identifier": "must be one of: braze_id, external_id, email",
        "$.attribute_names": "must be an object of question key to name",
        "$.events.on_open": "is not a field here (per_answer, on_completion)",
        "$.events.per_answer": "must be true or false",
    }


def identified(survey: Survey, n: int) -> list[Response]:
    return [
        Response.objects.create(
            survey=survey,
            identity_kind="braze_id",
            identity_value=f"u{i}",
            identities={"braze_id": f"u{i}"},
        )
        for i in range(n)
    ]


@pytest.mark.django_db
def test_a_backfill_queues_the_identified_responses_never_sent(
    editor_api: Client, live_survey: Survey
) -> None:
    identified(live_survey, 3)
    Response.objects.create(survey=live_survey)  # anonymous: never sent anywhere
    url = survey_url(live_survey)
    assert editor_api.get(url).json()["unsent_responses"] == 3
    refused = put(editor_api, url, {"backfill": True})
    assert "needs the integration on" in paths(refused)["$.backfill"]
    body = put(editor_api, url, {"enabled": True, "backfill": True}).json()
    assert body["backfilled"] == 3
    assert body["unsent_responses"] == 0
    assert Push.objects.filter(destination="braze").count() == 3


@pytest.mark.django_db
def test_viewers_may_read_a_survey_integration_but_not_change_it(
    viewer_api: Client, live_survey: Survey
) -> None:
    url = survey_url(live_survey)
    assert viewer_api.get(url).status_code == 200
    response = put(viewer_api, url, {"enabled": True})
    assert response.status_code == 403
    assert "viewer role" in response.json()["detail"]
    assert not SurveyBraze.objects.exists()


@pytest.mark.django_db
def test_another_workspace_survey_integration_is_not_found(
    outsider_api: Client, live_survey: Survey
) -> None:
    url = survey_url(live_survey)
    assert outsider_api.get(url).status_code == 404
    assert put(outsider_api, url, {"enabled": True}).status_code == 404
    assert bearer("snd_unknown").get(url).status_code == 401
    assert outsider_api.get("/api/v1/surveys/999999/integrations/braze").status_code == 404
    assert not SurveyBraze.objects.exists()


@pytest.mark.django_db
def test_the_openapi_document_describes_the_braze_bodies(owner_api: Client) -> None:
    document = owner_api.get("/api/v1/openapi.json").json()
    put_settings = document["paths"]["/api/v1/integrations/braze"]["put"]
    body = put_settings["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {
        "rest_endpoint",
        "api_key",
        "requests_per_second",
        "batch_limit",
    }
    assert body["properties"]["batch_limit"]["enum"] == [
        "75_combined",
        "50_combined",
        "75_per_array",
    ]
    survey_put = document["paths"]["/api/v1/surveys/{survey_id}/integrations/braze"]["put"]
    assert (
        "backfill"
        in survey_put["requestBody"]["content"]["application/json"]["schema"]["properties"]
    )
