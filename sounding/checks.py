"""Sounding's own system checks: settings that make a public installation unsafe.

Ids are stable (documented in docs/security.md). `sounding serve` and `sounding web` print
the warnings when they start on an address other machines can reach; `sounding manage check
--deploy` reports the deployment ones as errors, so a deploy script stops on them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from sounding.addresses import is_public

PUBLIC_WITHOUT_SITE_URL = Warning(
    "Sounding is served on an address other machines can reach, without SOUNDING_SITE_URL.",
    hint=(
        "Set SOUNDING_SITE_URL to the public https:// address people use: links in emails "
        "(password resets, invitations) then point there. Until then they use the address "
        "the server was started on."
    ),
    id="sounding.W001",
)
PUBLIC_WITHOUT_SECURE = Warning(
    "Sounding is served on an address other machines can reach, without SOUNDING_SECURE.",
    hint="Serve it over HTTPS and set SOUNDING_SECURE=1 (secure cookies, HTTPS redirect, HSTS).",
    id="sounding.W002",
)


def _served_publicly() -> bool:
    host = urlsplit(settings.SERVED_AT).hostname if settings.SERVED_AT else None
    return host is not None and is_public(host)


@register()
def private_data(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """The data directory and SQLite file of an installation made before they were created
    private: say so, rather than change an operator's permissions behind their back."""
    from pathlib import Path

    from sounding.datadir import exposed

    database = settings.DATABASES["default"]
    paths = [Path(settings.DATA_DIR)]
    if database["ENGINE"].endswith("sqlite3"):
        paths.append(Path(database["NAME"]))
    return [
        Warning(
            f"{path} can be read by other users of this machine.",
            hint=f"It holds password hashes, sessions and answers: chmod go-rwx {path}",
            id="sounding.W003",
        )
        for path in paths
        if exposed(path)
    ]


@register()
def public_bind(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if not _served_publicly():
        return []
    found = []
    if not settings.SITE_URL:
        found.append(PUBLIC_WITHOUT_SITE_URL)
    if not settings.SESSION_COOKIE_SECURE:
        found.append(PUBLIC_WITHOUT_SECURE)
    return found


@register(Tags.security, deploy=True)
def deployment(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    found = []
    if not settings.SITE_URL:
        found.append(
            Error(
                "SOUNDING_SITE_URL is not set.",
                hint="Set it to the public https:// address: every link in an email uses it.",
                id="sounding.E001",
            )
        )
    elif urlsplit(settings.SITE_URL).scheme != "https":
        found.append(
            Error(
                f"SOUNDING_SITE_URL ({settings.SITE_URL}) is not an https:// address.",
                hint="Links in emails carry one-time secrets: serve them over HTTPS.",
                id="sounding.E002",
            )
        )
    if "*" in settings.ALLOWED_HOSTS:
        found.append(
            Error(
                "Every Host header is accepted (SOUNDING_ALLOWED_HOSTS is '*').",
                hint="Leave SOUNDING_ALLOWED_HOSTS unset to answer only SOUNDING_SITE_URL's host.",
                id="sounding.E003",
            )
        )
    return found
