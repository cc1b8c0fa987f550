"""Webhooks' settings, read from the environment when Django's settings load."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sounding.addresses import url_prefixes


def settings(environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        # Endpoints that need not be public https:// addresses (a receiver on the operator's
        # own network, a test server): comma-separated URL prefixes. Every other endpoint
        # must be.
        "WEBHOOK_ALLOWED_URLS": url_prefixes(
            "SOUNDING_WEBHOOK_ALLOWED_URLS", environ.get("SOUNDING_WEBHOOK_ALLOWED_URLS", "")
        ),
    }
