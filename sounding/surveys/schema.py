"""The JSON Schema of the survey definition format, shipped with the package.

`definition.schema.json` beside this module is the one source; docs/survey-definition.schema.json
is a copy that a test keeps identical. The schema lets editors and API clients check a definition
before sending it; `definition.normalize()` stays the authority (see the schema's description for
the few rules JSON Schema cannot express).
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

SCHEMA_FILE = "definition.schema.json"


@cache
def schema_text() -> str:
    return files("sounding.surveys").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def definition_schema() -> dict[str, Any]:
    """The schema as a fresh dict (callers may change it, e.g. to embed it in OpenAPI)."""
    return json.loads(schema_text())
