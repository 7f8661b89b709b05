"""Keyed pseudonyms for customers in training data and erasure tombstones."""

import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def pseudonymise(value: object) -> str:
    """Return a keyed SHA-256 (HMAC) of `value`: stable, not reversible without the key."""
    if not settings.PSEUDONYM_KEY:
        raise ImproperlyConfigured("PSEUDONYM_KEY is not set (see docs/security.md).")
    key = settings.PSEUDONYM_KEY.encode()
    return hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()
