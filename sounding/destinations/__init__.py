"""Destinations: where answers are pushed. Each is one package registered here by dotted path.

The delivery core (`sounding.delivery`) owns the flow; a destination only says whether a
survey uses it and how to send. Braze is the first to be registered.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sounding.surveys.models import Survey

REGISTRY: dict[str, str] = {}


class Destination(Protocol):
    kind: str

    def enabled_for(self, survey: Survey) -> bool: ...


@cache
def load(kind: str) -> Destination:
    module_name, _, attr = REGISTRY[kind].rpartition(".")
    return getattr(import_module(module_name), attr)()


def enabled_kinds(survey: Survey) -> list[str]:
    return [kind for kind in REGISTRY if load(kind).enabled_for(survey)]
