"""How long personal data is kept: browsing events and sessions expire on a schedule.

Orders stay for accounting (anonymised on erasure); everything else that names a
customer is either replaced at each inference (served lists) or pruned here.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from recommender.models import BehaviourEvent

PRUNE_CHUNK = 10_000
# Purchase events mirror orders, which are kept for accounting.
PRUNED_EVENT_KINDS = (
    BehaviourEvent.Kind.VIEW,
    BehaviourEvent.Kind.ADD_TO_CART,
    BehaviourEvent.Kind.SEARCH,
)


def personal_data_prune(*, now=None) -> dict[str, int]:
    """Delete browsing events past their retention, expired sessions and expired
    API tokens.

    Works in small transactions, so it can run beside the shop and be interrupted;
    return how many rows of each kind went.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.BEHAVIOUR_EVENT_RETENTION_DAYS)
    removed = {"behaviour events": 0, "sessions": 0, "API tokens": 0}
    for kind in PRUNED_EVENT_KINDS:
        old = BehaviourEvent.objects.filter(kind=kind, occurred_at__lt=cutoff)
        while ids := list(old.values_list("pk", flat=True)[:PRUNE_CHUNK]):
            with transaction.atomic():
                removed["behaviour events"] += BehaviourEvent.objects.filter(
                    pk__in=ids
                ).delete()[0]
    removed["sessions"] = Session.objects.filter(expire_date__lt=now).delete()[0]
    removed["API tokens"] = AuthToken.objects.filter(expiry__lt=now).delete()[0]
    return removed
