"""Keyed pseudonyms for customers in training data and erasure tombstones."""

import hashlib
import hmac

from django.conf import settings


def pseudonymise(value: object) -> str:
    """Return a keyed SHA-256 (HMAC) of `value`: stable, not reversible without the key."""
    key = (settings.PSEUDONYM_KEY or settings.SECRET_KEY).encode()
    return hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()
