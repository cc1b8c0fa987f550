"""API tokens through the API: revoked and expired tokens are refused with a reason, callers
list the tokens they may manage and revoke them, and a running `sounding web` agrees."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from sounding.accounts.models import (
    SHOWN_AFTER_END,
    ApiToken,
    Membership,
    Role,
    User,
    Workspace,
    hash_token,
)
from tests.conftest import make_user
from tests.procs import Processes, cli_env, free_port, wait_for, web_answers

TOKENS = "/api/v1/tokens"
FIELDS = {
    "id",
    "name",
    "user_email",
    "state",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
    "current",
}


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def stored(raw: str) -> ApiToken:
    return ApiToken.objects.get(token_hash=hash_token(raw))


def assert_refused(raw: str, says: str) -> None:
    response = bearer(raw).get("/api/v1/surveys")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": response.json()["detail"]}
    assert says in response.json()["detail"]


# --- Refused tokens -------------------------------------------------------------------------


def test_a_revoked_token_is_401_and_says_it_was_revoked(owner_token: str) -> None:
    assert bearer(owner_token).get("/api/v1/surveys").status_code == 200
    assert stored(owner_token).revoke()

    assert_refused(owner_token, "was revoked on")


def test_an_expired_token_is_401_and_says_when_it_expired(
    workspace: Workspace, owner: User
) -> None:
    moment = timezone.now() - timedelta(seconds=1)
    _, raw = ApiToken.issue(workspace, owner, "old", expires_at=moment)

    assert_refused(raw, f"expired on {moment:%Y-%m-%d %H:%M} UTC")


def test_a_token_works_until_it_expires(workspace: Workspace, owner: User) -> None:
    token, raw = ApiToken.issue(workspace, owner, expires_at=timezone.now() + timedelta(days=1))
    assert bearer(raw).get("/api/v1/surveys").status_code == 200

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())

    assert_refused(raw, "expired")


def test_a_refused_token_is_not_marked_as_used(owner_token: str) -> None:
    token = stored(owner_token)
    token.revoke()

    bearer(owner_token).get("/api/v1/surveys")

    token.refresh_from_db()
    assert token.last_used_at is None


def test_revoked_and_expired_tokens_are_refused_in_the_one_query(
    workspace: Workspace, owner: User, django_assert_num_queries: Any
) -> None:
    revoked, raw_revoked = ApiToken.issue(workspace, owner)
    revoked.revoke()
    _, raw_expired = ApiToken.issue(workspace, owner, expires_at=timezone.now())
    for raw in (raw_revoked, raw_expired):
        with django_assert_num_queries(1):
            assert bearer(raw).get("/api/v1/surveys").status_code == 401


# --- GET /tokens ----------------------------------------------------------------------------


def test_a_member_lists_only_their_own_tokens_in_the_workspace(
    workspace: Workspace,
    other_workspace: Workspace,
    owner: User,
    editor: User,
    owner_token: str,
) -> None:
    mine, raw = ApiToken.issue(workspace, editor, "ci", timezone.now() + timedelta(days=30))
    other, _ = ApiToken.issue(workspace, editor, "nightly")
    colleague = make_user("colleague@acme.test", workspace, Role.EDITOR)
    ApiToken.issue(workspace, colleague, "someone else's")
    # The same person's token for another workspace is not this token's business.
    Membership.objects.create(user=editor, workspace=other_workspace, role=Role.OWNER)
    ApiToken.issue(other_workspace, editor, "elsewhere")

    response = bearer(raw).get(TOKENS)

    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["id"] for item in items] == [other.pk, mine.pk]  # newest first
    assert all(set(item) == FIELDS for item in items)
    first = items[1]
    assert first["name"] == "ci"
    assert first["user_email"] == editor.email
    assert first["state"] == "active"
    assert first["current"] is True and items[0]["current"] is False
    assert first["expires_at"] is not None and items[0]["expires_at"] is None
    assert first["last_used_at"] is not None  # this very request
    assert mine.token_hash not in response.content.decode()
    assert "token_hash" not in response.content.decode()


def test_an_owner_lists_every_token_of_the_workspace(
    workspace: Workspace,
    other_workspace: Workspace,
    owner: User,
    viewer: User,
    outsider: User,
    owner_token: str,
) -> None:
    ApiToken.issue(workspace, viewer, "viewer's")
    ApiToken.issue(other_workspace, outsider, "globex")

    items = bearer(owner_token).get(TOKENS).json()["items"]

    assert sorted(item["user_email"] for item in items) == [owner.email, viewer.email]
    assert [item["current"] for item in items if item["user_email"] == owner.email] == [True]


def test_ended_tokens_are_listed_for_the_thirty_days_the_texts_promise() -> None:
    # The page, the API's description, the command line and docs say "30 days".
    assert timedelta(days=30) == SHOWN_AFTER_END


def test_the_list_shows_ended_tokens_for_thirty_days(
    workspace: Workspace, owner: User, owner_token: str
) -> None:
    now = timezone.now()
    recent, _ = ApiToken.issue(workspace, owner, "revoked lately")
    recent.revoke()
    old, _ = ApiToken.issue(workspace, owner, "revoked long ago")
    ApiToken.objects.filter(pk=old.pk).update(revoked_at=now - timedelta(days=31))
    expired, _ = ApiToken.issue(workspace, owner, "expired", expires_at=now - timedelta(days=2))

    items = {item["name"]: item for item in bearer(owner_token).get(TOKENS).json()["items"]}

    assert items["revoked lately"]["state"] == "revoked"
    assert items["revoked lately"]["revoked_at"] is not None
    assert items["expired"]["state"] == "expired"
    assert "revoked long ago" not in items
    # Not listed, yet still refused as revoked rather than unknown.
    assert ApiToken.objects.filter(pk=old.pk).exists()


# --- DELETE /tokens/{id} --------------------------------------------------------------------


def test_a_caller_revokes_their_own_other_token(
    workspace: Workspace, editor: User, owner: User
) -> None:
    _, raw = ApiToken.issue(workspace, editor, "main")
    other, other_raw = ApiToken.issue(workspace, editor, "spare")

    response = bearer(raw).delete(f"{TOKENS}/{other.pk}")

    assert response.status_code == 204
    assert response.content == b""
    assert_refused(other_raw, "revoked")
    assert bearer(raw).get("/api/v1/surveys").status_code == 200


def test_a_caller_may_revoke_the_token_in_use(owner_token: str) -> None:
    token = stored(owner_token)
    client = bearer(owner_token)

    assert client.delete(f"{TOKENS}/{token.pk}").status_code == 204

    assert_refused(owner_token, "revoked")


def test_revoking_twice_changes_nothing(
    workspace: Workspace, owner: User, owner_token: str
) -> None:
    spare, _ = ApiToken.issue(workspace, owner, "spare")
    client = bearer(owner_token)
    assert client.delete(f"{TOKENS}/{spare.pk}").status_code == 204
    spare.refresh_from_db()
    first = spare.revoked_at

    assert client.delete(f"{TOKENS}/{spare.pk}").status_code == 204

    spare.refresh_from_db()
    assert spare.revoked_at == first


def test_a_non_owner_cannot_see_or_revoke_another_members_token(
    workspace: Workspace, owner: User, editor: User, viewer: User
) -> None:
    theirs, theirs_raw = ApiToken.issue(workspace, owner, "owner's")
    for member in (editor, viewer):
        _, raw = ApiToken.issue(workspace, member)
        client = bearer(raw)
        assert theirs.pk not in [item["id"] for item in client.get(TOKENS).json()["items"]]

        someone_elses = client.delete(f"{TOKENS}/{theirs.pk}")
        never_issued = client.delete(f"{TOKENS}/{theirs.pk + 1000}")

        assert someone_elses.status_code == never_issued.status_code == 404
        assert someone_elses.json() == never_issued.json()
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert bearer(theirs_raw).get("/api/v1/surveys").status_code == 200


def test_an_owner_revokes_a_members_token(
    workspace: Workspace, editor: User, owner_token: str
) -> None:
    theirs, raw = ApiToken.issue(workspace, editor, "editor's")

    assert bearer(owner_token).delete(f"{TOKENS}/{theirs.pk}").status_code == 204

    assert_refused(raw, "revoked")


def test_an_owner_cannot_reach_another_workspaces_tokens(
    other_workspace: Workspace, outsider: User, owner_token: str
) -> None:
    theirs, raw = ApiToken.issue(other_workspace, outsider)

    assert bearer(owner_token).delete(f"{TOKENS}/{theirs.pk}").status_code == 404

    assert bearer(raw).get("/api/v1/surveys").status_code == 200


@pytest.mark.parametrize("token_id", ["0", "-1", "abc", str(2**63), "1.5"])
def test_a_bad_token_id_is_400(owner_token: str, token_id: str) -> None:
    response = bearer(owner_token).delete(f"{TOKENS}/{token_id}")

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "$.token_id"
    assert stored(owner_token).revoked_at is None


def test_the_token_endpoints_need_a_token() -> None:
    for method in ("get", "delete"):
        path = TOKENS if method == "get" else f"{TOKENS}/1"
        response = getattr(Client(), method)(path)
        assert response.status_code == 401


@pytest.mark.django_db
def test_the_openapi_document_describes_the_token_endpoints() -> None:
    document = Client().get("/api/v1/openapi.json").json()
    assert set(document["paths"][TOKENS]) == {"get"}
    assert set(document["paths"][f"{TOKENS}/{{token_id}}"]) == {"delete"}
    schema = json.dumps(document["components"]["schemas"]["TokenOut"])
    assert "hash" not in schema


# --- Over real HTTP, against `sounding web` ---------------------------------------------------


@pytest.mark.any_db  # its processes use a SQLite database of their own
@pytest.mark.process
def test_a_running_web_server_refuses_a_token_once_revoked(tmp_path: Path) -> None:
    processes = Processes(tmp_path, cli_env(tmp_path), tmp_path / "processes.log")
    try:
        processes.run("migrate")
        email = "owner@example.test"
        processes.run("createadmin", "--email", email, "--password", "a long enough password 1")
        kept = processes.run("token", "create", "--email", email, "--name", "kept").strip()
        doomed = processes.run("token", "create", "--email", email, "--name", "doomed").strip()
        by_cli = processes.run("token", "create", "--email", email, "--name", "by cli").strip()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        processes.start("web", "--port", str(port), "--workers", "2")
        wait_for(lambda: web_answers(base), 30, "sounding web")

        with httpx.Client(base_url=base + "/api/v1", timeout=10) as http:

            def as_(raw: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {raw}"}

            listed = http.get("/tokens", headers=as_(doomed))
            assert listed.status_code == 200, processes.log.read_text()
            items = {item["name"]: item for item in listed.json()["items"]}
            assert set(items) == {"kept", "doomed", "by cli"}
            assert items["doomed"]["current"] is True

            # Revoked through the API, by the token itself.
            gone = http.delete(f"/tokens/{items['doomed']['id']}", headers=as_(doomed))
            assert gone.status_code == 204
            refused = http.get("/surveys", headers=as_(doomed))
            assert refused.status_code == 401
            assert refused.headers["WWW-Authenticate"] == "Bearer"
            assert "was revoked on" in refused.json()["detail"]

            # Revoked from the command line while the server runs.
            assert http.get("/surveys", headers=as_(by_cli)).status_code == 200
            out = processes.run("token", "revoke", str(items["by cli"]["id"]))
            assert "Revoked API token" in out
            assert http.get("/surveys", headers=as_(by_cli)).status_code == 401

            # The other token is untouched, and sees the revoked ones as such.
            states = {
                item["name"]: item["state"]
                for item in http.get("/tokens", headers=as_(kept)).json()["items"]
            }
            assert states == {"kept": "active", "doomed": "revoked", "by cli": "revoked"}
    finally:
        processes.kill_all()
