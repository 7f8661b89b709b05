"""Writes to users: the customer's own details and API tokens."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from .models import CustomerProfile, User

SELF_EDITABLE_USER_FIELDS = frozenset({"email", "first_name", "last_name"})
SELF_EDITABLE_PROFILE_FIELDS = frozenset(
    {"country", "city", "postcode", "phone", "marketing_opt_in"}
)


@transaction.atomic
def account_update(
    *, user: User, details: dict[str, Any], profile: dict[str, Any]
) -> User:
    """Change what a customer may change about themselves; create the profile if new.

    Anything else (username, external id, staff flags) is refused.
    """
    refused = (set(details) - SELF_EDITABLE_USER_FIELDS) | (
        set(profile) - SELF_EDITABLE_PROFILE_FIELDS
    )
    if refused:
        raise ValidationError(f"Cannot change {', '.join(sorted(refused))}.")
    if details:
        for name, value in details.items():
            setattr(user, name, value)
        user.full_clean()
        user.save(update_fields=sorted(details))
    if profile:
        customer_profile = CustomerProfile.objects.filter(
            user=user
        ).first() or CustomerProfile(user=user)
        for name, value in profile.items():
            setattr(customer_profile, name, value)
        customer_profile.full_clean()
        customer_profile.save()
    return user


@transaction.atomic
def token_obtain(*, user: User) -> Token:
    """Return the user's API token, creating it on first use."""
    token, _created = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def token_revoke(*, user: User) -> bool:
    """Delete the user's API token; return whether there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)
