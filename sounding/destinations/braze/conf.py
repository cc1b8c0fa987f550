"""Braze's settings, read from the environment when Django's settings load."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def settings(environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        # Hosts other than Braze's clusters that a workspace may point at (a stand-in, a
        # proxy): comma-separated URL prefixes. Nothing else is ever fetched.
        "BRAZE_ALLOWED_ENDPOINTS": [
            p.strip().rstrip("/")
            for p in environ.get("SOUNDING_BRAZE_ALLOWED_ENDPOINTS", "").split(",")
            if p.strip()
        ],
    }
