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
    from collections.abc import Mapping, Sequence

    from sounding.answers.models import Response
    from sounding.delivery.protocol import Destination
    from sounding.destinations.contract import Identity, Plugin
    from sounding.surveys.models import Survey

# Read while apps load (this package holds the destinations' apps): paths, not imports.
REGISTRY: dict[str, str] = {
    "braze": "sounding.destinations.braze.plugin.PLUGIN",
    "webhooks": "sounding.destinations.webhooks.plugin.PLUGIN",
}
# Destinations with several lanes per workspace name each `<prefix>:<id>`; the prefix says
# which registered destination owns them.
LANE_PREFIXES = {"webhook": "webhooks"}


def apps() -> list[str]:
    """The destinations' packages, for INSTALLED_APPS: read from the registry's paths, so
    settings import no destination."""
    return [dotted.split(".plugin.")[0] for dotted in REGISTRY.values()]


def settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Each destination's Django settings, read from the environment by its `conf` module
    (`settings(environ)`), for `sounding.settings`: a destination's own variables stay in its
    package. A package without one has none."""
    found: dict[str, Any] = {}
    for package in apps():
        try:
            conf = import_module(f"{package}.conf")
        except ModuleNotFoundError as missing:
            if missing.name != f"{package}.conf":
                raise
            continue
        found.update(conf.settings(environ))
    return found


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


def tracked() -> list[Plugin]:
    """The destinations whose per-response delivery state the generic pages show."""
    return [p for p in plugins() if p.response_state]


def tracked_kinds() -> list[str]:
    return [p.kind for p in tracked()]


@cache
def load(kind: str) -> Destination:
    prefix, sep, _ = kind.partition(":")
    if sep:
        family: Any = load(LANE_PREFIXES[prefix])
        lane: Destination = family.lane(kind)
        return lane
    return plugin(kind).destination()


def label(kind: str) -> str:
    prefix, sep, _ = kind.partition(":")
    if sep and prefix in LANE_PREFIXES:
        return str(getattr(load(kind), "label", kind))
    return plugin(kind).label if kind in REGISTRY else kind.title()


def erasing(responses: Sequence[Response]) -> set[int]:
    """Responses about to be deleted that a destination must first tell of their erasure:
    they stay, emptied, until it has. Each destination queues what it sends in the caller's
    transaction."""
    staying: set[int] = set()
    for kind in REGISTRY:
        share = getattr(load(kind), "erasing", None)
        if share is not None:
            staying |= share(responses)
    return staying


def prune() -> int:
    """Let each destination forget what it no longer needs (called by the worker)."""
    return sum(
        own() for kind in REGISTRY if (own := getattr(load(kind), "prune", None)) is not None
    )


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


def default_kind(survey: Survey) -> str:
    """The destination a survey's pages show when none is named: the first it sends to, or
    the first registered."""
    return next(iter(enabled_kinds(survey)), next(iter(REGISTRY)))


def identities() -> dict[str, Identity]:
    """Every identity some destination addresses respondents by, by name."""
    return {i.name: i for p in plugins() for i in p.identities}


def aliases() -> dict[str, str]:
    """The API's old names for generic fields (`Plugin.aliases`), each with its new name."""
    return {old: new for p in plugins() for old, new in p.aliases.items()}


def aliases_of(name: str) -> list[str]:
    return [old for old, new in aliases().items() if new == name]


def identity_label(name: str) -> str:
    found = identities().get(name)
    return found.label if found is not None else name
