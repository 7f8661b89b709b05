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

from .ml.protocol import HeldOut, Interactions, Split
from .models import BehaviourEvent, ErasedCustomer
from .privacy import pseudonymise
from .selectors import catalogue_arrays

PURCHASE_WEIGHT = 1.0  # browsing weighs less, so weight >= 1 marks a purchase
EVENT_WEIGHTS = {BehaviourEvent.Kind.ADD_TO_CART: 0.3, BehaviourEvent.Kind.VIEW: 0.1}
EVENT_DAYS = 180  # browsing older than this says little about what comes next
HISTORY_GAP_DAYS = 0.0  # evaluation: days between a held-out basket and its history
MIN_LINES_PER_ORDER = 1.5  # fewer: orders do not group lines, baskets are days
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


def leave_last_basket_out(
    frame: TrainingFrame, gap_days: float = HISTORY_GAP_DAYS, by: str = "auto"
) -> Split:
    """Hold out each customer's last basket (test) and the one before (validation).

    A basket is an order, or all of a customer's purchases of one day (`by="day"`)
    where the file's orders do not group lines (`by="auto"` decides from the data:
    `basket_grouping`). A basket's history is every interaction strictly before it,
    less `gap_days` if a shop wants lists measured as if made that long before (0 by
    default: lists are remade from the latest history). Customers with no history
    before their test basket form `cold_start`.
    """
    data, purchase = frame.interactions, frame.is_purchase
    by = basket_grouping(frame) if by == "auto" else by
    p_user, p_day = data.user[purchase], data.day[purchase]
    p_key = (
        frame.basket[purchase] if by == "order" else np.floor(p_day).astype(np.int64)
    )
    test_start, in_test = _last_basket(p_user, p_key, p_day, data.n_users, by)
    earlier = p_day < test_start[p_user]
    validation_start, in_validation = _last_basket(
        p_user[earlier], p_key[earlier], p_day[earlier], data.n_users, by
    )
    test_cut = test_start - gap_days
    validation_cut = np.where(
        np.isfinite(validation_start), validation_start - gap_days, test_cut
    )
    before_test = data.day < test_cut[data.user]
    before_validation = data.day < validation_cut[data.user]
    has_history = np.bincount(data.user[before_test], minlength=data.n_users) > 0
    test = HeldOut.from_rows(p_user[in_test], data.item[purchase][in_test])
    validation = HeldOut.from_rows(
        p_user[earlier][in_validation], data.item[purchase][earlier][in_validation]
    )
    validation_history = np.bincount(
        data.user[before_validation], minlength=data.n_users
    )
    personal = has_history[test.users]
    validation = validation.subset(
        np.flatnonzero(validation_history[validation.users] > 0)
    )
    history_lines = int((~in_test).sum())  # purchases that are not a test basket
    kept_lines = int((before_test & purchase).sum())
    summary = {
        "held_out": "each customer's last basket (test) and the one before "
        "(validation); history is everything strictly before the basket",
        "basket": by,
        "gap_days": float(gap_days),
        "customers": int(len(test)),
        "test_customers": int(personal.sum()),
        "cold_start_customers": int((~personal).sum()),
        "validation_customers": int(len(validation)),
        "mean_test_basket": round(float(test.sizes.mean()), 2) if len(test) else 0.0,
        "history_lines": history_lines,
        "history_lines_kept": kept_lines,
        "history_removed_share": round(1 - kept_lines / max(history_lines, 1), 4),
    }
    return Split(
        train=data.take(before_validation),
        validation=validation,
        train_plus_validation=data.take(before_test),
        test=test.subset(np.flatnonzero(personal)),
        cold_start=test.subset(np.flatnonzero(~personal)),
        summary=summary,
    )


def basket_grouping(frame: TrainingFrame) -> str:
    """Return "order" where orders group lines (on average at least
    `MIN_LINES_PER_ORDER` purchase lines an order), else "day"."""
    baskets = frame.basket[frame.is_purchase]
    if len(baskets) == 0:
        return "order"
    lines_per_order = len(baskets) / len(np.unique(baskets))
    return "order" if lines_per_order >= MIN_LINES_PER_ORDER else "day"


def _last_basket(user, key, day, n_users: int, by: str):
    """Return (start day of each user's last basket, inf if none; row in it?) for
    purchase rows sorted by user, then time."""
    start = np.full(n_users, np.inf)
    if len(user) == 0:
        return start, np.zeros(0, bool)
    last = np.r_[user[1:] != user[:-1], True]
    last_key = np.full(n_users, np.iinfo(np.int64).min, np.int64)
    last_key[user[last]] = key[last]
    in_basket = key == last_key[user]
    first_day = np.floor(day) if by == "day" else day
    np.minimum.at(start, user[in_basket], first_day[in_basket])
    return start, in_basket
