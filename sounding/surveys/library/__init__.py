"""Survey templates: ready surveys to start from, shipped as data, one JSON file each here.

A template file holds:

- `slug`, `name`, `description`: how the gallery and the API name it;
- `order`: its place in the gallery;
- `definition`: a whole survey definition (docs/survey-definition.md), translations included;
- `destinations`: what it suggests to each destination, by kind (for one, the attribute
  names of its questions). A destination takes its share through its plugin's `from_template`
  (`sounding.destinations.contract`), so this package never names one.

A survey made from a template is an ordinary draft: nothing links it to the template
afterwards, and changing a template changes no survey already made from it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.db import transaction

from sounding import destinations
from sounding.accounts.models import User, Workspace
from sounding.surveys.models import Survey

HERE = Path(__file__).resolve().parent
FIELDS = frozenset({"slug", "name", "description", "order", "definition", "destinations"})


@dataclass(frozen=True)
class Template:
    slug: str
    name: str
    description: str
    definition: dict[str, Any]
    destinations: dict[str, dict[str, Any]]

    @property
    def title(self) -> str:
        return str(self.definition["title"])

    @property
    def questions(self) -> list[dict[str, Any]]:
        return list(self.definition["questions"])

    @property
    def languages(self) -> list[str]:
        """The survey's own language first, then its translations."""
        own = self.definition.get("language") or "en"
        return [own, *self.definition.get("translations", {})]

    def suggestions(self, kind: str) -> dict[str, Any]:
        return dict(self.destinations.get(kind) or {})


def _read(path: Path) -> Template:
    data = json.loads(path.read_text(encoding="utf-8"))
    # Shipped data, checked by the tests: a malformed file is a bug worth failing loudly on.
    if set(data) != FIELDS or data["slug"] != path.stem:
        raise ValueError(f"{path.name}: a template has exactly {sorted(FIELDS)}, slug = file name")
    return Template(
        slug=data["slug"],
        name=data["name"],
        description=data["description"],
        definition=data["definition"],
        destinations=data["destinations"],
    )


@cache
def _all() -> tuple[Template, ...]:
    paths = sorted(HERE.glob("*.json"))
    ordered = sorted(paths, key=lambda p: json.loads(p.read_text(encoding="utf-8"))["order"])
    return tuple(_read(path) for path in ordered)


def templates() -> list[Template]:
    """Every template, in gallery order."""
    return list(_all())


def find(slug: Any) -> Template | None:
    return next((t for t in _all() if t.slug == slug), None)


def definition_for(template: Template, title: str | None = None) -> dict[str, Any]:
    """The template's definition, under `title` when one is given.

    A title of one's own drops the template's translations of its title: they translate a
    title the survey no longer has, and a respondent reading French would see a heading that
    does not match the survey. The title then reads the same in every language until
    someone translates it.
    """
    definition = copy.deepcopy(template.definition)
    wanted = (title or "").strip()
    if wanted and wanted != template.title:
        definition["title"] = wanted
        for texts in definition.get("translations", {}).values():
            texts.pop("title", None)
    return definition


def create_survey(
    workspace: Workspace, template: Template, title: str | None = None, user: User | None = None
) -> Survey:
    """A new draft made from `template` (raises DefinitionError, e.g. for a title too long),
    with each destination's suggestions applied in the same transaction: a survey never
    exists without them."""
    with transaction.atomic():
        survey = Survey.create(workspace, definition_for(template, title), user)
        for kind, suggestions in template.destinations.items():
            if kind not in destinations.REGISTRY:
                continue
            apply = destinations.plugin(kind).from_template
            if apply is not None:
                apply(survey, suggestions)
    return survey
