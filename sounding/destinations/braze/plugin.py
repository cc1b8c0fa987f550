"""Braze as the rest of the product sees it: registered in `sounding.destinations`."""

from __future__ import annotations

from typing import Any

from sounding.delivery.models import Push
from sounding.destinations.braze.destination import KIND, Braze
from sounding.destinations.braze.panel import survey_panel
from sounding.destinations.braze.signing import keys_for
from sounding.destinations.braze.suggested import from_template
from sounding.destinations.contract import Identity, Plugin


def held_attributes(push: Push | None) -> list[str]:
    """Attribute names Braze acknowledged with a value for this push (what clearing nulls).
    Events stay in Braze whatever is sent, so they are not held in this sense."""
    if push is None:
        return []
    attributes: dict[str, Any] = (push.acknowledged or {}).get("attributes") or {}
    return sorted(name for name, value in attributes.items() if value is not None)


PLUGIN = Plugin(
    kind=KIND,
    label="Braze",
    destination=Braze,
    identities=(
        Identity("braze_id", "user_braze_id", "Braze ID"),
        Identity("external_id", "user_external_id", "External ID"),
        Identity("email", "user_email", "Email"),
    ),
    urls="sounding.destinations.braze.urls",
    api_router="sounding.destinations.braze.api.router",
    # Braze came first, and saved links and API clients filter with the plain name.
    sync_param="sync",
    aliases={"clear_braze": "clear_destinations", "clearing_in_braze": "clearing_at_destinations"},
    held=held_attributes,
    clearing_help=(
        "Braze gets an empty value for each attribute these answers set on the profile; the "
        "response is removed as soon as Braze has taken them. Events already recorded in Braze "
        "stay there."
    ),
    link_keys=keys_for,
    settings_pages=("braze-settings", "braze-test"),
    survey_page="survey-braze",
    survey_panel=survey_panel,
    from_template=from_template,
)
