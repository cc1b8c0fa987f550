from django.contrib.auth.views import LogoutView
from django.urls import path

from sounding.accounts import (
    invite_views,
    member_views,
    password_views,
    token_views,
    unsent,
    views,
)

urlpatterns = [
    path("", views.home, name="home"),
    path("login", views.SignInView.as_view(), name="login"),
    path("logout", LogoutView.as_view(), name="logout"),
    path("setup", views.setup, name="setup"),
    path("resume", unsent.resume, name="unsent-form"),
    path("workspace", views.switch_workspace, name="workspace-switch"),
    path("password/reset", password_views.ResetRequestView.as_view(), name="password-reset"),
    path("password/reset/sent", password_views.ResetSentView.as_view(), name="password-reset-sent"),
    path(
        "password/reset/done",
        password_views.ResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
    path(
        "password/reset/<uidb64>/<token>",
        password_views.ResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("settings/members", member_views.members_page, name="members"),
    path("settings/members/invite", member_views.member_invite, name="member-invite"),
    path("settings/members/leave", member_views.member_leave, name="member-leave"),
    path("settings/members/<int:member_id>/role", member_views.member_role, name="member-role"),
    path(
        "settings/members/<int:member_id>/remove",
        member_views.member_remove,
        name="member-remove",
    ),
    path(
        "settings/members/invites/<int:invite_id>/revoke",
        member_views.invite_revoke,
        name="invite-revoke",
    ),
    path("settings/tokens", token_views.tokens_page, name="tokens"),
    path("settings/tokens/new", token_views.token_create, name="token-create"),
    path("settings/tokens/<int:token_id>/revoke", token_views.token_revoke, name="token-revoke"),
    path("invite/<path:token>", invite_views.invite_accept, name="invite-accept"),
]
