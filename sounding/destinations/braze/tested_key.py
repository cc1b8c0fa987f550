"""The API key an owner just tested, kept for the Save that follows.

"Test connection, then Save" must not ask for the key twice, yet the key is never written
back into the page: a password field re-filled with it would put it in the HTML (the page
source, the browser's cache, anything that reads the DOM). It waits in the server-side
session instead, encrypted with the vault's key so a copy of the sessions table does not hold
it in clear, for a few minutes, for that workspace only. Opening the settings page again
forgets it, so a later Save with an empty field keeps the saved key as it always did.
"""

from __future__ import annotations

import time
from typing import Any

from django.http import HttpRequest

from sounding import vault

SESSION_KEY = "braze_tested_key"
KEEP_FOR = 10 * 60


def keep(request: HttpRequest, workspace_id: int, key: str) -> None:
    request.session[SESSION_KEY] = {
        "workspace": workspace_id,
        "key": vault.encrypt(key),
        "at": time.time(),
    }


def kept(request: HttpRequest, workspace_id: int) -> str:
    """The key tested for `workspace_id` in the last few minutes, or ""."""
    found: Any = request.session.get(SESSION_KEY)
    if not isinstance(found, dict) or found.get("workspace") != workspace_id:
        return ""
    if time.time() - float(found.get("at", 0)) > KEEP_FOR:
        forget(request)
        return ""
    try:
        return vault.decrypt(str(found.get("key", "")))
    except vault.VaultError:
        forget(request)
        return ""


def forget(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
