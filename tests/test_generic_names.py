"""No package outside `destinations/` names a destination: what is Braze's is in its folder.

The exceptions are data and history: migrations (they record what the schema was), survey
templates (their suggestions are keyed by destination kind, read through the registry), the
definition schema's list of reserved link parameters (generated from the registry), and the
product's own one-line description.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.any_db

ROOT = Path(__file__).resolve().parent.parent / "sounding"
ALLOWED = {
    Path("__init__.py"),  # the product's description
    Path("surveys/definition.schema.json"),  # reserved link parameters, from the registry
}
BRAZE = re.compile(r"braze", re.IGNORECASE)


def generic_files() -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT)
        if not path.is_file() or relative.parts[0] == "destinations":
            continue
        if "migrations" in relative.parts or relative.parts[:2] == ("surveys", "library"):
            continue
        if path.suffix in {".py", ".html", ".js", ".css", ".txt"} and relative not in ALLOWED:
            found.append(path)
    return found


def test_the_generic_packages_never_name_braze() -> None:
    named = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in generic_files()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if BRAZE.search(line)
    ]
    assert named == [], "\n".join(named)


def test_the_scan_reads_the_generic_packages() -> None:
    relative = {str(p.relative_to(ROOT)) for p in generic_files()}
    assert {"collect/views.py", "answers/models.py", "api/erase.py"} <= relative
    assert {"static/sounding/respond.js", "responses/templates/responses/delete.html"} <= relative
