"""Encryption of secrets at rest (destinations' API keys and signing secrets).

Keys come from `SOUNDING_ENCRYPTION_KEY` (or `_FILE`), a comma-separated list: the first one
encrypts, every one decrypts, so an operator can rotate by putting a new key in front and
keeping the old one until `sounding manage reencrypt`-style rewrites are done. Without it, a
key generated once in the data directory is used, which is right for a single machine.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class VaultError(Exception):
    """A stored secret cannot be read with the configured keys."""


def _fernet(secret: str) -> Fernet:
    # Any string is accepted as a key: hashing gives Fernet the 32 bytes it needs.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


@cache
def _keys() -> MultiFernet:
    secrets = [s.strip() for s in settings.ENCRYPTION_KEYS if s.strip()]
    return MultiFernet([_fernet(s) for s in secrets])


def encrypt(plain: str) -> str:
    return _keys().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise VaultError(
            "A stored secret cannot be decrypted: SOUNDING_ENCRYPTION_KEY changed without "
            "keeping the previous key."
        ) from exc
