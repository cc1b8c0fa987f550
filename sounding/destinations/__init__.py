"""Destinations: where answers are pushed. Each is one package registered here by dotted path.

The delivery core (`sounding.delivery`) owns the flow: claiming, batching, pacing, retrying
and recording. A destination fills in the steps that differ: what a response becomes
(`parcel`), how a request is sent and what its answer means (`send`). What the rest of the
product needs to know about a destination (its label, pages, API, identities, what erasure
clears) it says in its `Plugin` (`sounding.destinations.contract`).
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sounding.delivery.protocol import Destination
    from sounding.destinations.contract import Identity, Plugin
    from sounding.surveys.models import Survey

# Read while apps load (this package holds the destinations' apps): paths, not imports.
REGISTRY: dict[str, str] = {
    "braze": "sounding.destinations.braze.plugin.PLUGIN",
}


def resolve(dotted: str) -> Any:
    module_name, _, attr = dotted.rpartition(".")
    return getattr(import_module(module_name), attr)


@cache
def plugin(kind: str) -> Plugin:
    found: Plugin = resolve(REGISTRY[kind])
    return found


def plugins() -> list[Plugin]:
    """Every registered destination, in registry order (the order pages and exports use)."""
    return [plugin(kind) for kind in REGISTRY]


@cache
def load(kind: str) -> Destination:
    return plugin(kind).destination()


def label(kind: str) -> str:
    return plugin(kind).label if kind in REGISTRY else kind.title()


def enabled_kinds(survey: Survey) -> list[str]:
    """The destinations this survey sends to; read from the survey row, no query."""
    return [kind for kind in survey.destinations or () if kind in REGISTRY]


def default_kind(survey: Survey) -> str:
    """The destination a survey's pages show when none is named: the first it sends to, or
    the first registered."""
    return next(iter(enabled_kinds(survey)), next(iter(REGISTRY)))


def identities() -> dict[str, Identity]:
    """Every identity some destination addresses respondents by, by name."""
    return {i.name: i for p in plugins() for i in p.identities}


def identity_label(name: str) -> str:
    found = identities().get(name)
    return found.label if found is not None else name
