"""Every API operation, fuzzed from its own OpenAPI document: no answer is ever a 5xx, and every
answer has a documented status and the documented shape.

schemathesis generates the requests (valid ones, and ones that break the schema on purpose)
and sends them straight to the WSGI application in this process, so they share the test's
database transaction. Half the generated requests get the id of a real survey (and the token
of a real response, and the id of a real API token other than the one sending them) instead of
a random one, so the fuzzing reaches past the 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sounding.accounts.models import ApiToken, User, Workspace
from sounding.answers.models import Response
from sounding.collect import flow
from sounding.destinations.webhooks import signing
from sounding.destinations.webhooks.models import EVENTS, Endpoint
from sounding.surveys.models import Status, Survey
from tests.conftest import EVERY_TYPE

SCHEMA = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Bounded so the whole file runs in well under a minute on two CPUs; derandomized so a CI run
# is the same run every time (a failure found once is found again).
FUZZ = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


class Targets:
    """A real survey with real responses, and a spare API token, put back whenever a fuzzed
    DELETE removed or revoked them."""

    def __init__(self, workspace: Workspace, owner: User) -> None:
        self.workspace = workspace
        self.owner = owner
        self.survey = self._survey()
        self.spare = ApiToken.issue(workspace, owner, "spare")[0]
        self.endpoint = self._endpoint()

    def _survey(self) -> Survey:
        survey = Survey.create(self.workspace, EVERY_TYPE, self.owner)
        survey.set_status(Status.LIVE)
        for n, braze_id in enumerate(("abc", "", "<script>alert(1)</script>")):
            identity = {"braze_id": braze_id} if braze_id else {}
            ctx = flow.LinkContext(identity=identity, hidden={"utm_source": f"mail-{n}"})
            response = flow.start_response(survey, ctx, "en")
            answers: dict[str, Any] = {}
            spec = survey.spec
            flow.save_answer(survey, response, spec.get("nps"), 9 - n, answers)
            flow.save_answer(survey, response, spec.get("feedback"), "=1+1", answers)
        return survey

    def survey_id(self) -> int:
        if not Survey.objects.filter(pk=self.survey.pk).exists():
            self.survey = self._survey()
        return self.survey.pk

    def _endpoint(self) -> Endpoint:
        # A loopback address, which the egress rules refuse (the fuzzing allows none): a test
        # send or a delivery to it is refused before any connection is made.
        endpoint = Endpoint(workspace=self.workspace, url="http://127.0.0.1:9/fuzz")
        endpoint.events = list(EVENTS)
        endpoint.set_secret(signing.new_secret())
        endpoint.save()
        return endpoint

    def endpoint_id(self) -> int:
        if not Endpoint.objects.filter(pk=self.endpoint.pk).exists():
            self.endpoint = self._endpoint()
        return self.endpoint.pk

    def response_token(self) -> str:
        token = Response.objects.filter(survey_id=self.survey_id()).values_list("token", flat=True)
        return token.first() or "gone"

    def api_token_id(self) -> int:
        # Revoking the token the fuzzing sends would leave every later case a mere 401.
        if not ApiToken.objects.filter(pk=self.spare.pk).usable().exists():
            self.spare = ApiToken.issue(self.workspace, self.owner, "spare")[0]
        return self.spare.pk


@pytest.fixture
def connection_kept() -> Iterator[None]:
    """Keep the test's database connection (and its transaction) open across requests, as
    Django's test client does: a bare WSGI call closes it when the request ends."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def aim(case: Case, targets: Targets) -> None:
    params = case.path_parameters
    if params is None:
        return
    if "survey_id" in params:
        params["survey_id"] = targets.survey_id()
    if "token" in params:
        params["token"] = targets.response_token()
    if "token_id" in params:
        params["token_id"] = targets.api_token_id()
    if "endpoint_id" in params:
        params["endpoint_id"] = targets.endpoint_id()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_operation_answers_with_a_server_error_or_an_undocumented_answer(
    operation: Any,
    mode: GenerationMode,
    workspace: Workspace,
    owner: User,
    owner_token: str,
    connection_kept: None,
    settings: Any,
) -> None:
    # No address beyond the egress rules: the aimed endpoint's loopback one stays refused, so
    # its test sends end before any connection is made.
    settings.WEBHOOK_ALLOWED_URLS = []
    targets = Targets(workspace, owner)
    auth = {"Authorization": f"Bearer {owner_token}"}

    @FUZZ
    @given(case=operation.as_strategy(mode), real=st.booleans())
    def run(case: Case, real: bool) -> None:
        if real:
            aim(case, targets)
        response = case.call(headers=auth)
        case.validate_response(response, checks=CHECKS)

    run()


def test_every_operation_is_fuzzed() -> None:
    # A route added without a schema would silently escape the fuzzing above.
    labels = {op.label for op in OPERATIONS}
    assert len(labels) >= 15
    assert "POST /api/v1/surveys" in labels
    assert "POST /api/v1/responses/erase" in labels
    assert "PUT /api/v1/surveys/{survey_id}/integrations/braze" in labels
    assert "DELETE /api/v1/tokens/{token_id}" in labels
    assert "POST /api/v1/integrations/webhooks/{endpoint_id}/test" in labels
