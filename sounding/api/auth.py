"""Bearer tokens: who is calling, for which workspace, with which role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from sounding.accounts.models import (
    CAN_EDIT,
    TOKEN_PREFIX,
    ApiToken,
    Membership,
    User,
    Workspace,
    hash_token,
)
from sounding.api.errors import ApiError

# Recording every use would turn each read into a write; a minute is precise enough to see
# which tokens are still in use.
TOUCH_EVERY = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 200

MISSING = "Authentication required: send 'Authorization: Bearer <token>' with an API token."
UNKNOWN = "The API token is not valid: it may be mistyped or deleted."
REVOKED = (
    "The API token was revoked on {when}, by hand or because its user's password changed: "
    "create a new one."
)
EXPIRED = "The API token expired on {when}: create a new one."
NOT_A_MEMBER = "The API token's user is no longer a member of its workspace."


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True, slots=True)
class Principal:
    token: ApiToken
    role: str

    @property
    def workspace(self) -> Workspace:
        return self.token.workspace

    @property
    def workspace_id(self) -> int:
        return self.token.workspace_id

    @property
    def user(self) -> User:
        return self.token.user

    @property
    def can_edit(self) -> bool:
        return self.role in CAN_EDIT


def _touch(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def find_principal(raw: str) -> Principal:
    """The principal a raw token acts as; raises AuthenticationError when it acts as no one."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > MAX_TOKEN_LENGTH:
        raise AuthenticationError(message=UNKNOWN)
    # The role is read with the token, in one query: it is the member's role now, not the
    # one they had when the token was issued.
    role = Membership.objects.filter(
        user_id=OuterRef("user_id"), workspace_id=OuterRef("workspace_id")
    ).values("role")[:1]
    token = (
        ApiToken.objects.select_related("user", "workspace")
        .annotate(member_role=Subquery(role))
        .filter(token_hash=hash_token(raw), user__is_active=True)
        .first()
    )
    if token is None:
        raise AuthenticationError(message=UNKNOWN)
    # Revocation and expiry are read off the same row: refusing them costs no query, and the
    # caller learns why rather than being told the token is mistyped.
    if token.revoked_at is not None:
        raise AuthenticationError(message=REVOKED.format(when=_when(token.revoked_at)))
    if token.expires_at is not None and token.expires_at <= timezone.now():
        raise AuthenticationError(message=EXPIRED.format(when=_when(token.expires_at)))
    if token.member_role is None:
        raise AuthenticationError(message=NOT_A_MEMBER)
    _touch(token)
    return Principal(token=token, role=token.member_role)


class BearerToken(HttpBearer):
    def __call__(self, request: HttpRequest) -> Principal:
        # Raising (rather than returning None) lets the 401 say what is wrong.
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise AuthenticationError(message=MISSING)
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Principal:
        return find_principal(token)


def principal(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


def require_edit(request: HttpRequest) -> Principal:
    """The caller, if their role may change surveys; a 403 otherwise."""
    caller = principal(request)
    if not caller.can_edit:
        raise ApiError(
            403,
            f"This token acts with the {caller.role} role, which can read surveys and "
            "responses but not change them.",
        )
    return caller
