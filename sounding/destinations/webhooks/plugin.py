"""Webhooks as the rest of the product sees them: registered in `sounding.destinations`."""

from __future__ import annotations

from sounding.destinations.contract import Plugin
from sounding.destinations.webhooks.destination import KIND, Webhooks

PLUGIN = Plugin(
    kind=KIND,
    label="Webhooks",
    destination=Webhooks,
    # Anonymous responses are sent too: a webhook needs no identity.
    identities=(),
    urls="sounding.destinations.webhooks.urls",
    api_router="sounding.destinations.webhooks.api.router",
    settings_pages=(
        "webhooks",
        "webhook",
        "webhook-test",
        "webhook-rotate",
        "webhook-toggle",
        "webhook-delete",
        "webhook-resend-failed",
        "webhook-resend",
    ),
    # One delivery state per endpoint, on the endpoint's own page, not one per response.
    response_state=False,
)
