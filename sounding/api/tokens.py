"""API tokens: list the ones the caller may manage, and revoke one.

Tokens are issued from the web app or the command line, where the new secret can be shown once
to a person; the API only lists and revokes, and never sends a token's hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Path, Router
from ninja import Status as Reply

from sounding.accounts import tokens
from sounding.accounts.models import ApiToken
from sounding.api.auth import Principal, principal
from sounding.api.errors import ApiError
from sounding.api.schemas import AUTH_ERRORS, READ_ERRORS, TokenList

router = Router(tags=["tokens"])

# Out-of-range ids would overflow the database's 64-bit integer and fail as a 500.
TokenId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The token's `id`.")]


def token_out(token: ApiToken, caller: Principal, now: datetime) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "user_email": token.user.email,
        "state": token.state_at(now),
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
        "current": token.pk == caller.token.pk,
    }


@router.get("/tokens", response={200: TokenList, **AUTH_ERRORS})
def list_tokens(request: HttpRequest) -> dict[str, Any]:
    """The caller's tokens in this workspace (every member's for an owner), newest first;
    revoked and expired ones stay listed for 30 days."""
    caller = principal(request)
    now = timezone.now()
    found = tokens.listed(caller.workspace_id, caller.user.pk, caller.role)
    return {"items": [token_out(token, caller, now) for token in found]}


@router.delete("/tokens/{token_id}", response={204: None, **READ_ERRORS})
def revoke_token(request: HttpRequest, token_id: TokenId) -> Reply[None]:
    """Revoke a token, the caller's own included (even the one sending this request); an
    owner may revoke any member's. Revoking a revoked token changes nothing."""
    caller = principal(request)
    token = (
        tokens.manageable(caller.workspace_id, caller.user.pk, caller.role)
        .filter(pk=token_id)
        .first()
    )
    if token is None:
        # Someone else's token is as absent as one never issued.
        raise ApiError(404, "There is no API token with this id that you may manage.")
    token.revoke()
    return Reply(204, None)
