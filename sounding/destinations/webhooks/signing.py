"""Signing and verifying webhooks the Standard Webhooks way (https://www.standardwebhooks.com).

Each message carries three headers: `webhook-id` (unique per message, the same on every
retry, so receivers can drop duplicates), `webhook-timestamp` (Unix seconds when it was sent)
and `webhook-signature`: `v1,` and the base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`.
Signing the id and the timestamp with the body stops a captured message from being replayed
under another id or, past the receiver's tolerance, at all.

A secret is `whsec_` followed by the base64 of its random bytes. While a secret is rotated the
header carries one signature per secret, space-separated: receivers that still know only the
previous secret keep accepting messages until they are given the new one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as random_source
import time
from collections.abc import Mapping, Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# The specification's bounds: shorter keys are guessable, longer ones add nothing to SHA-256.
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
# How far a message's timestamp may be from the receiver's clock, either way (the spec's
# recommendation): wide enough for clock skew and slow networks, short enough to stop replays.
TOLERANCE_SECONDS = 300
SIGNATURE_VERSION = "v1"

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


class SignatureError(ValueError):
    """Why a message is not accepted as signed; `reason` is one of the codes below, for code
    that reacts to the kind of failure rather than to the wording."""

    MISSING_HEADER = "missing_header"
    BAD_TIMESTAMP = "bad_timestamp"
    TOO_OLD = "too_old"
    TOO_NEW = "too_new"
    NO_MATCH = "no_match"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(random_source.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a secret, written with or without its `whsec_` prefix."""
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    if not encoded:
        raise ValueError("the webhook secret is empty")
    try:
        # Tolerate missing padding, as the reference implementation does, but no other damage:
        # a secret garbled in copying must fail here, not as signatures nobody can verify.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"the webhook secret is not {SECRET_PREFIX} followed by base64 "
            "(letters, digits, + and /)"
        ) from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(
            f"the webhook secret holds {len(key)} bytes; it must hold "
            f"{MIN_SECRET_BYTES} to {MAX_SECRET_BYTES}"
        )
    return key


def _digest(key: bytes, msg_id: str, timestamp: int | str, body: bytes) -> bytes:
    # The body is signed as the exact bytes sent: re-encoding parsed JSON would change them.
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = _digest(secret_bytes(secret), msg_id, timestamp, body)
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of a message, signed with each of `secrets`: the current secret
    first, then a previous one still in its rotation grace period."""
    if not secrets:
        raise ValueError("a webhook is signed with at least one secret")
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: " ".join(signature(s, msg_id, timestamp, body) for s in secrets),
    }


def verify(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Return if a signature in `headers` was made with one of `secrets` over this id,
    timestamp and body, and the timestamp is within `tolerance` seconds of `now`; otherwise
    raise SignatureError saying why."""
    if not secrets:
        raise ValueError("a webhook is verified with at least one secret")
    keys = [secret_bytes(secret) for secret in secrets]
    # HTTP header names are case-insensitive, and proxies do change their case.
    found = {name.lower(): value for name, value in headers.items()}
    for name in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER):
        if not found.get(name, "").strip():
            raise SignatureError(SignatureError.MISSING_HEADER, f"the {name} header is missing")
    msg_id, stamp = found[ID_HEADER], found[TIMESTAMP_HEADER].strip()
    if not (stamp.isascii() and stamp.isdigit()):
        raise SignatureError(
            SignatureError.BAD_TIMESTAMP, f"{TIMESTAMP_HEADER} is not whole Unix seconds: {stamp!r}"
        )
    timestamp = int(stamp)
    # The clock is checked first: a stale message is refused whatever its signature.
    drift = timestamp - (int(time.time()) if now is None else now)
    if drift < -tolerance:
        raise SignatureError(
            SignatureError.TOO_OLD,
            f"the timestamp is {-drift} s old, over the {tolerance} s allowed",
        )
    if drift > tolerance:
        raise SignatureError(
            SignatureError.TOO_NEW,
            f"the timestamp is {drift} s in the future, over the {tolerance} s allowed",
        )
    # Over the header as received, as the sender signed it, not the number re-rendered.
    expected = [_digest(key, msg_id, stamp, body) for key in keys]
    for candidate in _signatures(found[SIGNATURE_HEADER]):
        # In constant time: how long a comparison takes must not tell a forger how many of
        # the leading bytes were right.
        if any(hmac.compare_digest(candidate, digest) for digest in expected):
            return
    raise SignatureError(
        SignatureError.NO_MATCH,
        f"no {SIGNATURE_VERSION} signature in {SIGNATURE_HEADER} matches this body with the "
        f"{'secret' if len(keys) == 1 else f'{len(keys)} secrets'} given",
    )


def _signatures(header: str) -> list[bytes]:
    """The decoded v1 signatures of the header; other versions and damaged entries are
    skipped, as a later version of the scheme must not break today's receivers."""
    found = []
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        if version != SIGNATURE_VERSION:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found
