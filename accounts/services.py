"""Writes to users: the customer's own details and API tokens."""

from collections import Counter
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from knox.models import AuthToken

from orders.models import Order
from recommender.models import (
    BehaviourEvent,
    CustomerSegment,
    ErasedCustomer,
    Recommendation,
)
from recommender.privacy import pseudonymise

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
def token_obtain(*, user: User) -> tuple[AuthToken, str]:
    """Create an API token for the user; return it and its key (shown once: only
    its digest is stored). Beyond API_TOKENS_PER_USER live tokens, the oldest go."""
    token, key = AuthToken.objects.create(user=user)
    keep = AuthToken.objects.filter(user=user).order_by("-created", "-pk")
    surplus = keep.values_list("pk", flat=True)[settings.API_TOKENS_PER_USER :]
    AuthToken.objects.filter(pk__in=list(surplus)).delete()
    return token, key


@transaction.atomic
def token_revoke(*, user: User) -> bool:
    """Delete every API token of the user; return whether there was one."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return bool(deleted)


class ErasureRefused(ValidationError):
    """The account cannot be erased here (a staff account)."""


@transaction.atomic
def customer_erase(*, customer: User, erased_by: User | None = None) -> ErasedCustomer:
    """Erase a customer on request and return their tombstone.

    Deletes their behaviour events (with those of their orders and the anonymous
    ones of their known sessions),
    served lists and segment rows of every batch, API token, sessions, profile and
    account; their orders stay for accounting, anonymised (no customer, no country).
    The tombstone keeps only keyed hashes of the id and the imported id, so that
    imports and training exports never bring the customer back. What was removed is
    counted in the tombstone's `removed` attribute (not stored).
    """
    if customer.is_staff:
        raise ErasureRefused(
            "Staff accounts are not erased here: remove the staff status first."
        )
    removed: Counter = Counter()
    theirs = Q(customer=customer) | Q(order__customer=customer)
    session_keys = set(
        BehaviourEvent.objects.filter(theirs)
        .exclude(session_key="")
        .values_list("session_key", flat=True)
    )
    if session_keys:
        theirs |= Q(session_key__in=session_keys)
        removed["sessions"] = Session.objects.filter(
            session_key__in=session_keys
        ).delete()[0]
    events = BehaviourEvent.objects.filter(theirs)
    removed["behaviour events"] = events.delete()[0]
    removed["recommendations"] = Recommendation.objects.filter(
        customer=customer
    ).delete()[0]
    removed["segment rows"] = CustomerSegment.objects.filter(
        customer=customer
    ).delete()[0]
    removed["API tokens"] = AuthToken.objects.filter(user=customer).delete()[0]
    removed["profiles"] = CustomerProfile.objects.filter(user=customer).delete()[0]
    removed["orders anonymised"] = Order.objects.filter(customer=customer).update(
        customer=None, country=""
    )
    # The admin's history of changes to the account and its profile (whose key is
    # the account's) names the customer and what changed.
    removed["audit entries anonymised"] = LogEntry.objects.filter(
        content_type__in=ContentType.objects.get_for_models(
            User, CustomerProfile
        ).values(),
        object_id=str(customer.pk),
    ).update(object_repr="Erased customer", change_message="")
    # Sign-in attempts recorded by the lockout name the username.
    removed["sign-in records"] = sum(
        model.objects.filter(username=customer.username).delete()[0]
        for model in (AccessAttempt, AccessLog, AccessFailureLog)
    )
    tombstone = ErasedCustomer.objects.create(
        pseudonym=pseudonymise(customer.pk),
        external_id_hash=pseudonymise(customer.external_id)
        if customer.external_id
        else "",
        erased_at=timezone.now(),
        erased_by=erased_by,
    )
    customer.delete()
    removed["accounts"] = 1
    tombstone.removed = dict(removed)
    return tombstone
