"""Braze's settings, read from the environment when Django's settings load."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings as django_settings

ALLOWED = "BRAZE_ALLOWED_ENDPOINTS"


def settings(environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        # Hosts other than Braze's clusters that a workspace may point at (a stand-in, a
        # proxy): comma-separated URL prefixes. Nothing else is ever fetched.
        ALLOWED: [
            p.strip().rstrip("/")
            for p in environ.get("SOUNDING_BRAZE_ALLOWED_ENDPOINTS", "").split(",")
            if p.strip()
        ],
    }


def allowed_endpoints() -> list[str]:
    """The hosts allowed besides Braze's clusters, as settings hold them now (tests change
    them): set from the environment by `settings` above."""
    found: list[str] = getattr(django_settings, ALLOWED)
    return found
