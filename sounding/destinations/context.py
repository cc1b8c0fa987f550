"""What every page's frame needs of the destinations: their settings pages, for the menus and
the banner shown while sending to one is paused."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from sounding import destinations


def destination_pages(request: HttpRequest) -> dict[str, Any]:
    pages = [
        {
            "kind": p.kind,
            "label": p.label,
            "settings": p.settings_pages[0],
            "names": p.settings_pages,
        }
        for p in destinations.plugins()
        if p.settings_pages
    ]
    names = [name for p in destinations.plugins() for name in p.settings_pages]
    return {"destination_pages": pages, "destination_settings_pages": names}
