"""A URL path converter that matches only registered destination kinds."""

from __future__ import annotations

import re

from sounding import destinations


class KindConverter:
    regex = "|".join(re.escape(kind) for kind in destinations.tracked_kinds())

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
