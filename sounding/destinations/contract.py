"""What a destination package tells the rest of the product about itself.

Each destination exposes one `Plugin` (registered by dotted path in `sounding.destinations`).
Generic pages, exports, filters, erasure and the API read a destination only through it, so a
new destination is a new package and one line in the registry.

Django URL modules and API routers are named by dotted path, not imported here: the plugin is
read by code that runs while the API and URL configuration are still being built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sounding.delivery.models import Push
    from sounding.surveys.models import Survey


def holds_nothing(push: Push | None) -> list[str]:
    return []


@dataclass(frozen=True)
class LinkKeys:
    """What the respondent path needs to check a link's signature (`sounding.collect.signatures`):
    whether to, and with which secrets."""

    required: bool = False
    current: bytes = b""
    previous: bytes = b""
    previous_until: datetime | None = None
    # Until then a signature over the value alone (links made before kinds were signed) is
    # accepted too; None for secrets made since.
    legacy_until: datetime | None = None

    def valid_now(self, now: datetime) -> tuple[bytes, ...]:
        keys: tuple[bytes, ...] = (self.current,) if self.current else ()
        if self.previous and self.previous_until is not None and now < self.previous_until:
            keys += (self.previous,)
        return keys


@dataclass(frozen=True)
class Identity:
    """A way a survey link names the respondent, as a destination addresses them."""

    name: str  # the identity kind, also the Response column ("external_id")
    param: str  # the link's query parameter ("user_external_id")
    label: str  # for people ("External ID")


@dataclass(frozen=True)
class SurveyPanel:
    """What a destination adds to a survey's page. Its templates are included with `panel`
    (this object) in the page's context; either may be empty."""

    # Its part of the Share section (the link its messages carry).
    share: str = ""
    # Its row in the Integrations list (the `<li>`'s content).
    integration: str = ""
    # What those templates read, as `panel.context`.
    context: dict[str, Any] = field(default_factory=dict)
    # Lines shown under a question's summary, by question key.
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Plugin:
    kind: str
    label: str
    # Builds the delivery-side object the engine talks to (`sounding.delivery.protocol`), or,
    # for a destination with a lane per configured target, the family that names its lanes
    # (`lanes()`) and builds each (`lane(kind)`).
    destination: Callable[[], Any]
    # The link identities it can address a respondent by, in order of precedence; () when it
    # sends anonymous responses too and needs none.
    identities: tuple[Identity, ...] = ()
    # Dotted path of a module of Django URL patterns (settings pages), mounted at the root.
    urls: str = ""
    # Dotted path of a django-ninja Router, mounted under /api/v1/.
    api_router: str = ""
    # The query parameter that filters responses by its delivery state; "<kind>_sync" if unset.
    sync_param: str = ""
    # What it holds from a push and would be asked to forget on erasure (attribute names);
    # a destination that cannot be cleared holds nothing and its pushes are left alone.
    held: Callable[[Push | None], list[str]] = holds_nothing
    # What clearing does there, told to the person deleting a response.
    clearing_help: str = ""
    # The keys a survey's links must be signed with (by the survey's id), when it signs them.
    link_keys: Callable[[int], LinkKeys] | None = None
    # URL names of its workspace settings pages, the first linked from the menus (owners only).
    settings_pages: tuple[str, ...] = ()
    # URL name of a survey's settings page for it (survey pk argument).
    survey_page: str = ""
    # What it shows on a survey's page, given the survey and the survey's public link.
    survey_panel: Callable[[Survey, str], SurveyPanel] | None = None
    # Whether each response has one delivery state there (one push per response), shown as
    # a column and a filter in responses, reports and exports. Webhooks have one per endpoint
    # and show them on their own pages instead.
    response_state: bool = True
    # Applies what a survey template suggests for it (the template's `destinations.<kind>`
    # object, see `sounding.surveys.library`) to a survey just made from that template, in
    # the transaction that creates the survey.
    from_template: Callable[[Survey, Mapping[str, Any]], None] | None = None
    # Names the API gave generic fields while this was the only destination, each with the
    # name that replaced it ("clear_braze" -> "clear_destinations"): still accepted in
    # requests and given in replies beside the new name, documented as deprecated.
    aliases: Mapping[str, str] = field(default_factory=dict)

    @property
    def clears(self) -> bool:
        """Whether erasing a response asks it to forget what it holds."""
        return self.held is not holds_nothing

    @property
    def filter_param(self) -> str:
        return self.sync_param or f"{self.kind}_sync"

    @property
    def export_column(self) -> str:
        """The column of exports that holds its delivery state."""
        return f"{self.kind}_sync"
