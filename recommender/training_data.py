"""The recommender's training data: per-customer interaction sequences.

Purchases come from orders (weight 1); views and cart adds from behaviour events, with
lower weights. Customers appear under keyed pseudonyms, never their ids, and erased
customers are left out.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection
from django.db.models import FloatField, Func
from django.utils import timezone

from mlops.bulk import pk_in
from orders.models import Order, OrderLine

from .ml.protocol import Interactions, Split
from .models import BehaviourEvent, ErasedCustomer
from .privacy import pseudonymise
from .selectors import catalogue_arrays

PURCHASE_WEIGHT = 1.0  # browsing weighs less, so weight >= 1 marks a purchase
EVENT_WEIGHTS = {BehaviourEvent.Kind.ADD_TO_CART: 0.3, BehaviourEvent.Kind.VIEW: 0.1}
EVENT_DAYS = 180  # browsing older than this says little about what comes next
HISTORY_GAP_DAYS = 1.0  # evaluation: what was known the night before a purchase
SECONDS_PER_DAY = 86_400.0
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class SecondsSinceEpoch(Func):
    """Seconds from `EPOCH` to a timestamp, computed by PostgreSQL.

    The same float as `(when - EPOCH).total_seconds()` (both round the exact
    microseconds once), without loading aware datetimes: ~10 µs a row in Python.
    """

    template = (
        f"EXTRACT(EPOCH FROM %(expressions)s - TIMESTAMPTZ '{EPOCH.isoformat()}')"
        "::float8"
    )
    output_field = FloatField()


def _timed(queryset, user: str, when: str, last: str):
    """(user, product, time, last) rows; the time as seconds since `EPOCH` where the
    database computes them, else as a datetime."""
    if connection.vendor != "postgresql":
        return queryset.values_list(user, "product_id", when, last).order_by()
    seconds = queryset.annotate(seconds_since_epoch=SecondsSinceEpoch(when))
    return seconds.values_list(
        user, "product_id", "seconds_since_epoch", last
    ).order_by()


@dataclass(frozen=True)
class TrainingFrame:
    """Interactions in time order as arrays, with what the models and serving need."""

    interactions: Interactions  # day = fractional days since EPOCH; weight per row
    is_purchase: np.ndarray  # bool per row
    basket: np.ndarray  # order pk per purchase row, -1 for events
    customer_keys: np.ndarray  # user index -> pseudonym (no database ids)
    product_ids: np.ndarray  # item index -> product pk
    product_category: np.ndarray  # item index -> category index
    category_ids: np.ndarray  # category index -> category pk (0 = none)

    def purchases(self) -> Interactions:
        return self.interactions.take(self.is_purchase)

    def fingerprint(self) -> dict:
        data = self.interactions
        digest = hashlib.sha256()
        for array in (data.user, data.item, data.day, self.is_purchase):
            digest.update(np.ascontiguousarray(array).tobytes())
        days = data.day[self.is_purchase]
        first = EPOCH + timedelta(days=float(days.min())) if len(days) else None
        last = EPOCH + timedelta(days=float(days.max())) if len(days) else None
        return {
            "rows": int(len(data.user)),
            "purchases": int(self.is_purchase.sum()),
            "customers": int(data.n_users),
            "products": int(data.n_items),
            "date_range": [
                str(first.date()) if first else None,
                str(last.date()) if last else None,
            ],
            "sha256": digest.hexdigest(),
        }


def training_frame(*, customer_ids: list[int] | None = None) -> TrainingFrame:
    """Return purchases and recent browsing of customers (all, or `customer_ids`).

    User indices follow `customer_ids` order when given (for inference chunks).
    """
    product_ids, product_category, category_ids = catalogue_arrays()
    lines = OrderLine.objects.filter(
        order__kind=Order.Kind.SALE, order__customer__isnull=False
    ).exclude(order__status=Order.Status.CANCELLED)
    since = timezone.now() - timedelta(days=EVENT_DAYS)
    events = BehaviourEvent.objects.filter(
        kind__in=list(EVENT_WEIGHTS), customer__isnull=False, occurred_at__gte=since
    )
    if customer_ids is not None:  # one array parameter, not thousands of %s
        lines = lines.filter(**pk_in("order__customer_id", customer_ids))
        events = events.filter(**pk_in("customer_id", customer_ids))
    purchase_rows = _timed(lines, "order__customer_id", "order__placed_at", "order_id")
    event_rows = _timed(events, "customer_id", "occurred_at", "kind")
    p_user, p_item, p_time, p_basket = _columns(purchase_rows)
    e_user, e_item, e_time, e_kind = _columns(event_rows, last_is_text=True)
    e_weight = np.array([EVENT_WEIGHTS[k] for k in e_kind], dtype=np.float32)

    user_pk = np.concatenate([p_user, e_user])
    item_pk = np.concatenate([p_item, e_item])
    seconds = np.concatenate([p_time, e_time])
    weight = np.concatenate(
        [np.full(len(p_user), PURCHASE_WEIGHT, np.float32), e_weight]
    )
    is_purchase = np.concatenate(
        [np.ones(len(p_user), bool), np.zeros(len(e_user), bool)]
    )
    basket = np.concatenate([p_basket, np.full(len(e_user), -1, np.int64)])
    # Events come after purchases at the same instant: a view never "follows" its sale.
    order = np.lexsort((~is_purchase, seconds, user_pk))
    user_pk, item_pk, seconds = user_pk[order], item_pk[order], seconds[order]
    weight, is_purchase, basket = weight[order], is_purchase[order], basket[order]

    users = (
        np.asarray(customer_ids, np.int64)
        if customer_ids is not None
        else np.unique(user_pk)
    )
    keep = _not_erased(users)
    users = users[keep] if customer_ids is None else users
    position = {int(u): i for i, u in enumerate(users.tolist())}
    known = np.isin(user_pk, users) & np.isin(item_pk, product_ids)
    user_index = np.fromiter((position[int(u)] for u in user_pk[known]), np.int64)
    data = Interactions(
        user=user_index,
        item=np.searchsorted(product_ids, item_pk[known]).astype(np.int64),
        day=(seconds[known] / SECONDS_PER_DAY).astype(np.float64),
        n_users=len(users),
        n_items=len(product_ids),
        weight=weight[known],
    )
    keys = np.array([pseudonymise(int(u)) for u in users.tolist()], dtype="<U64")
    return TrainingFrame(
        data,
        is_purchase[known],
        basket[known],
        keys,
        product_ids,
        product_category,
        category_ids,
    )


def _columns(rows, last_is_text: bool = False):
    """Turn `_timed` rows into NumPy columns, times as seconds since `EPOCH`."""
    rows = list(rows)
    n = len(rows)
    user = np.fromiter((r[0] for r in rows), np.int64, n)
    item = np.fromiter((r[1] for r in rows), np.int64, n)
    if n and isinstance(rows[0][2], float):  # computed by the database
        when = np.fromiter((r[2] for r in rows), np.float64, n)
    else:
        when = np.fromiter(
            ((r[2] - EPOCH).total_seconds() for r in rows), np.float64, n
        )
    last = (
        [r[3] for r in rows]
        if last_is_text
        else np.fromiter((r[3] for r in rows), np.int64, n)
    )
    return user, item, when, last


def _not_erased(user_pks: np.ndarray) -> np.ndarray:
    erased = set(ErasedCustomer.objects.values_list("pseudonym", flat=True))
    if not erased:
        return np.ones(len(user_pks), bool)
    return np.array([pseudonymise(int(u)) not in erased for u in user_pks.tolist()])


def leave_last_purchases_out(
    frame: TrainingFrame, min_purchases: int = 3, gap_days: float = HISTORY_GAP_DAYS
) -> Split:
    """Hold out each eligible customer's last purchase (test) and the one before
    (validation). Their histories end `gap_days` before the held-out purchase.

    Lists are served from a nightly batch, so the views, cart adds and basket mates
    of the purchase itself are never known when the list is made: keeping them would
    mostly measure "recommend what was just put in the cart".
    """
    data, purchase = frame.interactions, frame.is_purchase
    rows = np.arange(len(data.user))
    p_rows = rows[purchase]
    p_user = data.user[purchase]
    counts = np.bincount(p_user, minlength=data.n_users)
    last = np.r_[p_user[1:] != p_user[:-1], True]
    second = np.r_[last[1:], False] & ~last
    eligible = counts[p_user] >= min_purchases
    test_rows, validation_rows = p_rows[last & eligible], p_rows[second & eligible]
    before_test = data.day < _cutoff_per_user(data, test_rows, gap_days)[data.user]
    before_validation = (
        data.day < _cutoff_per_user(data, validation_rows, gap_days)[data.user]
    )
    return Split(
        train=data.take(before_validation),
        validation_users=data.user[validation_rows],
        validation_items=data.item[validation_rows],
        train_plus_validation=data.take(before_test),
        test_users=data.user[test_rows],
        test_items=data.item[test_rows],
    )


def _cutoff_per_user(data: Interactions, held_rows: np.ndarray, gap_days: float):
    """Time (days) at which each user's history ends; no end for users not held out."""
    cutoff = np.full(data.n_users, np.inf)
    cutoff[data.user[held_rows]] = data.day[held_rows] - gap_days
    return cutoff
