"""People, the workspaces they belong to, and the API tokens that act for a workspace."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
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
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.email


class Workspace(models.Model):
    """One company: its surveys, its members and its Braze settings."""

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


class ApiToken(models.Model):
    """A bearer token acting for one workspace with its creator's role.

    Only a hash is stored: a leaked database does not leak working tokens.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tokens")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name or f"token {self.pk}"

    @classmethod
    def issue(cls, workspace: Workspace, user: User, name: str = "") -> tuple[ApiToken, str]:
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            workspace=workspace, user=user, name=name, token_hash=hash_token(raw)
        )
        return token, raw

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
