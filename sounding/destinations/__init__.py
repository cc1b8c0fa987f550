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
    "webhooks": "sounding.destinations.webhooks.destination.Webhooks",
}
# Destinations with several lanes per workspace name each `<prefix>:<id>`; the prefix says
# which registered destination owns them.
LANE_PREFIXES = {"webhook": "webhooks"}


@cache
def load(kind: str) -> Destination:
    prefix, sep, _ = kind.partition(":")
    if sep:
        destination: Any = load(LANE_PREFIXES[prefix]).lane(kind)  # type: ignore[attr-defined]
        return destination
    module_name, _, attr = REGISTRY[kind].rpartition(".")
    destination = getattr(import_module(module_name), attr)()
    return destination


def lanes() -> list[str]:
    """What the worker delivers to now: a registered destination is one lane (per workspace),
    unless it names its own (webhooks: one per endpoint with something due)."""
    found: list[str] = []
    for kind in REGISTRY:
        own = getattr(load(kind), "lanes", None)
        found += own() if own is not None else [kind]
    return found


def enabled_kinds(survey: Survey) -> list[str]:
    """The destinations this survey sends to; read from the survey row, no query."""
    return [kind for kind in survey.destinations or () if kind in REGISTRY]
