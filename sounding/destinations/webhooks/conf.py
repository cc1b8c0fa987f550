"""Webhooks' settings, read from the environment when Django's settings load."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings as django_settings

from sounding.addresses import url_prefixes

ALLOWED = "WEBHOOK_ALLOWED_URLS"


def settings(environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        # Endpoints that need not be public https:// addresses (a receiver on the operator's
        # own network, a test server): comma-separated URL prefixes. Every other endpoint
        # must be.
        ALLOWED: url_prefixes(
            "SOUNDING_WEBHOOK_ALLOWED_URLS", environ.get("SOUNDING_WEBHOOK_ALLOWED_URLS", "")
        ),
    }


def allowed_urls() -> list[str]:
    """The URL prefixes the operator allowed, as settings hold them now (tests change them)."""
    found: list[str] = getattr(django_settings, ALLOWED)
    return found
