"""Destinations: where answers are pushed. Each is one package registered here by dotted path.

The delivery core (`sounding.delivery`) owns the flow: claiming, batching, pacing, retrying
and recording. A destination fills in the steps that differ: what a response becomes
(`parcel`), how a request is sent and what its answer means (`send`). Braze is the first.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sounding.delivery.protocol import Destination
    from sounding.surveys.models import Survey

REGISTRY: dict[str, str] = {
    "braze": "sounding.destinations.braze.destination.Braze",
}


@cache
def load(kind: str) -> Destination:
    module_name, _, attr = REGISTRY[kind].rpartition(".")
    destination: Any = getattr(import_module(module_name), attr)()
    return destination


def enabled_kinds(survey: Survey) -> list[str]:
    """The destinations this survey sends to; read from the survey row, no query."""
    return [kind for kind in survey.destinations or () if kind in REGISTRY]
