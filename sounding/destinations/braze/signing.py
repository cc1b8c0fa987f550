"""Signed survey links: a secret per survey that Braze uses to sign each recipient's identity.

The link Braze sends carries
`sig={{${braze_id} | prepend: 'braze_id:' | hmac_sha256_hex: '<secret>'}}`: Braze's Liquid
filters compute HMAC-SHA256 of the identifier's kind and value (`braze_id:abc`) with the
secret, as hex. The respondent page
(`sounding.collect.signatures`) recomputes it and refuses a link that does not match, so
nobody can answer under someone else's Braze id by editing the link.

The secret lives in the survey's `SurveyBraze` row, encrypted like the API key. Rotating it
keeps the previous one valid for a grace period, so messages already sent keep working.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from sounding import vault
from sounding.destinations.braze.models import Identifier, SurveyBraze
from sounding.destinations.contract import LinkKeys

logger = logging.getLogger(__name__)

SECRET_BYTES = 32
# Shown in place of the secret wherever the reader may not see it (viewers, the API).
PLACEHOLDER = "SIGNING_SECRET"
# The Braze profile field each identifier is filled from, in Liquid.
LIQUID_FIELDS = {
    Identifier.BRAZE_ID: "${braze_id}",
    Identifier.EXTERNAL_ID: "${user_id}",
    Identifier.EMAIL: "${email_address}",
}
# What the signing setup is made of: a change to any of these is a new respondent-side config.
STATE_FIELDS = (
    "signed_links",
    "signing_secret_encrypted",
    "previous_secret_encrypted",
    "previous_secret_expires_at",
    "legacy_signatures_until",
)


def new_secret() -> str:
    return secrets.token_hex(SECRET_BYTES)


def grace() -> timedelta:
    return timedelta(days=settings.SIGNING_GRACE_DAYS)


def liquid_signature(identifier: str, secret: str) -> str:
    """The `sig` value of a Braze message: Braze signs the identity, kind and value, per
    recipient (`sounding.collect.signatures.signed_message`)."""
    kind = Identifier(identifier)
    field = LIQUID_FIELDS[kind]
    return f"{{{{{field} | prepend: '{kind.value}:' | hmac_sha256_hex: '{secret}'}}}}"


def set_signed(config: SurveyBraze, signed: bool) -> None:
    """Turn signing on or off; the first time on makes the secret. Off keeps the secret, so
    turning it back on does not break the links already sent."""
    config.signed_links = signed
    if signed and not config.signing_secret_encrypted:
        config.signing_secret_encrypted = vault.encrypt(new_secret())
        config.signing_secret_created_at = timezone.now()


def rotate(config: SurveyBraze, now: datetime | None = None) -> None:
    """A new secret; the current one stays valid for the grace period. A secret already in its
    grace period is dropped at once: only the last two secrets are ever accepted."""
    now = now or timezone.now()
    if config.signing_secret_encrypted:
        config.previous_secret_encrypted = config.signing_secret_encrypted
        config.previous_secret_expires_at = now + grace()
    config.signing_secret_encrypted = vault.encrypt(new_secret())
    config.signing_secret_created_at = now


def state(config: SurveyBraze) -> tuple[object, ...]:
    return tuple(getattr(config, name) for name in STATE_FIELDS)


def keys_for(survey_id: int) -> LinkKeys:
    """The survey's signing keys, read in one query. A secret that cannot be decrypted (the
    encryption key changed) leaves no key at all: every link is refused rather than trusted."""
    config = SurveyBraze.objects.filter(survey_id=survey_id, signed_links=True).first()
    if config is None:
        return LinkKeys()
    try:
        current = config.signing_secret().encode()
        previous = config.previous_secret().encode()
    except vault.VaultError as error:
        logger.error("Survey %s: every signed link is refused. %s", survey_id, error)
        return LinkKeys(required=True)
    return LinkKeys(
        True,
        current,
        previous,
        config.previous_secret_expires_at,
        config.legacy_signatures_until,
    )
