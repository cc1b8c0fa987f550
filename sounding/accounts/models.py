"""People, the workspaces they belong to, and the API tokens that act for a workspace."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    # Django's own: the raw password `set_password` holds until saved (see `save`).
    _password: str | None

    def __str__(self) -> str:
        return self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; a new password also revokes the person's API tokens.

        Django keeps the raw password in `_password` from `set_password` until the save that
        stores it, and clears it before re-saving a hash upgraded at sign-in: so this catches
        every change of password (reset, `manage changepassword`) and no mere rehash.
        """
        password_changed = self._password is not None and not self._state.adding
        with transaction.atomic(using=kwargs.get("using") or self._state.db):
            super().save(*args, **kwargs)
            if password_changed:
                ApiToken.objects.filter(user_id=self.pk).usable().update(revoked_at=timezone.now())


class Workspace(models.Model):
    """One company: its surveys, its members and its destinations' settings."""

    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


# What each role may do; views and the API ask these, never compare role names themselves.
CAN_EDIT = {Role.OWNER, Role.EDITOR}
CAN_ADMINISTER = {Role.OWNER}


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.workspace_id}:{self.role}"

    @property
    def can_edit(self) -> bool:
        return self.role in CAN_EDIT

    @property
    def can_administer(self) -> bool:
        return self.role in CAN_ADMINISTER


TOKEN_PREFIX = "snd_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# A revoked or expired token stays in lists this long, so whoever looks soon after sees what
# happened to it; the row itself is kept, and its hash keeps answering "revoked".
SHOWN_AFTER_END = timedelta(days=30)


class TokenState(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self, now: datetime | None = None) -> ApiTokenQuerySet:
        now = now or timezone.now()
        return self.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True
        )

    def listed(self, now: datetime | None = None) -> ApiTokenQuerySet:
        """The tokens lists show: usable ones, and those that ended within SHOWN_AFTER_END."""
        since = (now or timezone.now()) - SHOWN_AFTER_END
        return self.filter(
            Q(revoked_at__isnull=True) | Q(revoked_at__gt=since),
            Q(expires_at__isnull=True) | Q(expires_at__gt=since),
        )


class ApiToken(models.Model):
    """A bearer token acting for one workspace with its creator's role.

    Only a hash is stored: a leaked database does not leak working tokens. Revoking keeps the
    row, so a script still using the token is told it was revoked rather than mistyped.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tokens")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name or f"token {self.pk}"

    @classmethod
    def issue(
        cls,
        workspace: Workspace,
        user: User,
        name: str = "",
        expires_at: datetime | None = None,
    ) -> tuple[ApiToken, str]:
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            workspace=workspace,
            user=user,
            name=name,
            token_hash=hash_token(raw),
            expires_at=expires_at,
        )
        return token, raw

    def state_at(self, now: datetime) -> TokenState:
        if self.revoked_at is not None:
            return TokenState.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return TokenState.EXPIRED
        return TokenState.ACTIVE

    @property
    def state(self) -> TokenState:
        return self.state_at(timezone.now())

    def revoke(self) -> bool:
        """Revoke the token now; False if it already was (the first revocation's time stays)."""
        now = timezone.now()
        done = ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=now)
        if done:
            self.revoked_at = now
        else:
            self.refresh_from_db(fields=["revoked_at"])
        return bool(done)

    def role(self) -> str | None:
        membership = Membership.objects.filter(user=self.user, workspace=self.workspace).first()
        return membership.role if membership else None


INVITE_LIFETIME = timedelta(days=7)


def invite_expiry() -> datetime:
    return timezone.now() + INVITE_LIFETIME


class InviteState(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    EXPIRED = "expired", "Expired"


class Invite(models.Model):
    """An invitation to join a workspace with a role, sent by email as a one-time link.

    As with API tokens, only a hash of the link's token is stored. Revoking an invite deletes
    it, so its link then reads as unknown.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invites")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=invite_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "email"], name="invite_workspace_email")]

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace_id} ({self.role})"

    @property
    def state(self) -> InviteState:
        if self.accepted_at is not None:
            return InviteState.ACCEPTED
        if self.expires_at <= timezone.now():
            return InviteState.EXPIRED
        return InviteState.PENDING

    @classmethod
    def issue(
        cls, workspace: Workspace, email: str, role: str, invited_by: User
    ) -> tuple[Invite, str]:
        raw = secrets.token_urlsafe(32)
        invite = cls.objects.create(
            workspace=workspace,
            email=email,
            role=role,
            token_hash=hash_token(raw),
            invited_by=invited_by,
        )
        return invite, raw


class Throttle(models.Model):
    """How many times something happened lately for one subject: failed sign-ins for an email
    or from an address, reset emails to an address, invitations sent by someone.

    `events` counts until `reset_at`, when it is forgotten: sign-in failures push it on with
    each failure (forgotten after a quiet window), email limits keep it where it was set by
    the first event (a fixed window). See sounding.accounts.throttle.
    """

    scope = models.CharField(max_length=20)
    subject = models.CharField(max_length=300)
    events = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField()
    reset_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Also the index of every lookup, and what the upsert's ON CONFLICT names.
            models.UniqueConstraint(fields=["scope", "subject"], name="throttle_scope_subject")
        ]
        indexes = [models.Index(fields=["reset_at"], name="throttle_reset_at")]

    def __str__(self) -> str:
        return f"{self.scope} {self.subject}: {self.events}"
