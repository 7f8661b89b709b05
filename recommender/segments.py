"""Reads and writes for customer behaviour analysis: order history as arrays, the
served segments, their overview and the snapshots of movement between segments."""

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Avg, Count, Max, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from catalog.models import Category, Product
from mlops.models import ModelKind, ServedBatch
from orders.models import Order, OrderLine

from .ml.churn import Purchases
from .ml.protocol import index_of
from .models import BehaviourEvent, CustomerSegment, SegmentSnapshot
from .training_data import EVENT_DAYS, EVENT_WEIGHTS

SEGMENT_ORDER = [choice.value for choice in CustomerSegment.Rfm]
TOP_CATEGORIES = 5


@dataclass(frozen=True)
class Browsing:
    """Recent views and cart adds as arrays, weighted as in the recommender's data.

    `customer` indexes the frame's customers, `category` its `category_ids`,
    `group` its `group_ids` (-1 for none); days count from the frame's epoch.
    """

    customer: np.ndarray
    product: np.ndarray
    category: np.ndarray
    group: np.ndarray
    day: np.ndarray
    weight: np.ndarray


@dataclass(frozen=True)
class SegmentFrame:
    """Order lines as arrays for segmentation, with the maps back to database ids.

    `purchases.category` indexes `category_ids`; `line_group` gives each line's
    top-level category (an index of `group_ids`); `line_price_position` is where the
    line's product sits among its category's prices (0 cheapest, 1 dearest). Days
    count from `epoch`.
    """

    purchases: Purchases
    customer_ids: np.ndarray
    category_ids: np.ndarray
    group_ids: np.ndarray
    line_group: np.ndarray
    line_price_position: np.ndarray
    epoch: date
    line_product: np.ndarray  # product pk of each line
    browsing: Browsing

    def day_of(self, when: date) -> int:
        return when.toordinal() - self.epoch.toordinal()

    @property
    def last_day(self) -> int:
        return int(self.purchases.day.max()) if len(self.purchases.day) else 0

    def fingerprint(self) -> dict:
        data = self.purchases
        digest = hashlib.sha256()
        for array in (data.customer, data.order, data.day, data.amount):
            digest.update(np.ascontiguousarray(array).tobytes())
        return {
            "rows": int(len(data.order)),
            "customers": int(data.n_customers),
            "orders": int(len(np.unique(data.order))),
            "date_range": [
                str(self.epoch),
                str(date.fromordinal(self.epoch.toordinal() + self.last_day)),
            ],
            "sha256": digest.hexdigest(),
        }


def _category_groups() -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """Return (category pks, top-level pk per category, path per pk)."""
    rows = list(Category.objects.order_by("pk").values_list("pk", "path"))
    top_of_path = {path: pk for pk, path in rows if " > " not in path}
    category_ids = np.array([0] + [pk for pk, _ in rows], dtype=np.int64)
    top = [0] + [top_of_path.get(path.split(" > ")[0], pk) for pk, path in rows]
    return category_ids, np.array(top, dtype=np.int64), dict(rows)


def product_price_positions() -> tuple[np.ndarray, np.ndarray]:
    """Return (product pks, percentile of each product's price within its category)."""
    rows = list(
        Product.objects.order_by("pk").values_list("pk", "category_id", "price")
    )
    pks = np.array([r[0] for r in rows], dtype=np.int64)
    category = np.array([r[1] or 0 for r in rows], dtype=np.int64)
    price = np.array([float(r[2]) for r in rows], dtype=np.float64)
    position = np.full(len(rows), 0.5)
    order = np.lexsort((price, category))
    sorted_category = category[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_category)) + 1]
    sizes = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, sizes)
    size = np.repeat(sizes, sizes)
    position[order] = np.where(size > 1, rank / np.maximum(size - 1, 1), 0.5)
    return pks, position


def segment_frame(*, customer_ids: list[int] | None = None) -> SegmentFrame:
    """Return sale order lines of customers (all, or those given) as arrays."""
    lines = OrderLine.objects.filter(
        order__kind=Order.Kind.SALE, order__customer__isnull=False
    ).exclude(order__status=Order.Status.CANCELLED)
    if customer_ids is not None:
        lines = lines.filter(order__customer_id__in=customer_ids)
    rows = list(
        lines.annotate(placed_on=TruncDate("order__placed_at", tzinfo=UTC))
        .order_by("order__placed_at", "order_id", "line_number")
        .values_list(
            "order__customer_id",
            "order_id",
            "product_id",
            "product__category_id",
            "quantity",
            "unit_price",
            "placed_on",
        )
    )
    count = len(rows)
    customer_pk = np.fromiter((r[0] for r in rows), np.int64, count)
    product = np.fromiter((r[2] for r in rows), np.int64, count)
    ordinal = np.fromiter((r[6].toordinal() for r in rows), np.int64, count)
    epoch = date.fromordinal(int(ordinal.min())) if count else timezone.now().date()
    users = (
        np.asarray(sorted(customer_ids), dtype=np.int64)
        if customer_ids is not None
        else np.unique(customer_pk)
    )
    category_ids, top_of, _ = _category_groups()
    group_ids = np.unique(top_of[1:]) if len(top_of) > 1 else np.zeros(0, np.int64)
    category_pk = np.fromiter((r[3] or 0 for r in rows), np.int64, count)
    category = np.searchsorted(category_ids, category_pk)
    line_group = np.searchsorted(group_ids, top_of[category]) if count else category
    product_ids, position = product_price_positions()
    purchases = Purchases(
        customer=np.searchsorted(users, customer_pk).astype(np.int64),
        order=np.fromiter((r[1] for r in rows), np.int64, count),
        day=ordinal - epoch.toordinal(),
        amount=np.fromiter((float(r[5]) * r[4] for r in rows), np.float64, count),
        category=category.astype(np.int64),
        n_customers=len(users),
    )
    return SegmentFrame(
        purchases,
        users,
        category_ids,
        group_ids,
        line_group.astype(np.int64),
        position[np.searchsorted(product_ids, product)] if count else np.zeros(0),
        epoch,
        product,
        _browsing(users, epoch, category_ids, top_of, group_ids, customer_ids),
    )


def _browsing(users, epoch, category_ids, top_of, group_ids, customer_ids) -> Browsing:
    """Return the recent views and cart adds of the frame's customers."""
    since = timezone.now() - timedelta(days=EVENT_DAYS)
    events = BehaviourEvent.objects.filter(
        kind__in=list(EVENT_WEIGHTS), customer__isnull=False, occurred_at__gte=since
    )
    if customer_ids is not None:
        events = events.filter(customer_id__in=customer_ids)
    rows = list(
        events.order_by().values_list(
            "customer_id", "product_id", "product__category_id", "occurred_at", "kind"
        )
    )
    count = len(rows)
    customer_pk = np.fromiter((r[0] for r in rows), np.int64, count)
    keep = np.isin(customer_pk, users)
    category = np.searchsorted(
        category_ids, np.fromiter((r[2] or 0 for r in rows), np.int64, count)
    )
    day = np.fromiter(
        (r[3].astimezone(UTC).date().toordinal() for r in rows), np.int64, count
    )
    group = (
        index_of(top_of[category], group_ids) if count else np.zeros(0, dtype=np.int64)
    )
    return Browsing(
        customer=np.searchsorted(users, customer_pk[keep]).astype(np.int64),
        product=np.fromiter((r[1] for r in rows), np.int64, count)[keep],
        category=category[keep].astype(np.int64),
        group=group[keep],
        day=(day - epoch.toordinal())[keep],
        weight=np.array([EVENT_WEIGHTS[r[4]] for r in rows], np.float32)[keep],
    )


def category_names() -> dict[int, str]:
    """Return the full path of every category by pk."""
    return dict(Category.objects.values_list("pk", "path"))


def latest_order_date() -> date | None:
    """Return the day of the shop's latest sale: "today" for a live shop."""
    latest = Order.objects.filter(kind=Order.Kind.SALE).aggregate(at=Max("placed_at"))
    return latest["at"].astimezone(UTC).date() if latest["at"] else None


def joined_days_ago(customer_ids: np.ndarray, as_of: date | None) -> np.ndarray:
    """Return how many days before `as_of` (default today) each customer joined."""
    as_of = as_of or timezone.now().date()
    joined = dict(
        get_user_model()
        .objects.filter(pk__in=customer_ids.tolist())
        .values_list("pk", "date_joined")
    )
    return np.array(
        [
            (as_of - joined[pk].astimezone(UTC).date()).days if pk in joined else 0
            for pk in customer_ids.tolist()
        ],
        dtype=np.int64,
    )


def segment_customers() -> list[int]:
    """Return the pks of the customers to segment: active, not staff."""
    return list(
        get_user_model()
        .objects.filter(is_staff=False, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def active_segments_batch_id() -> int | None:
    return (
        ServedBatch.objects.filter(
            kind=ModelKind.SEGMENTS, state=ServedBatch.State.ACTIVE
        )
        .values_list("pk", flat=True)
        .first()
    )


def current_segments() -> QuerySet[CustomerSegment]:
    """Return the rows of the active segments batch (none if there is none)."""
    return CustomerSegment.objects.filter(batch_id=active_segments_batch_id())


def customer_segment(customer) -> CustomerSegment | None:
    """Return a customer's row in the active segments batch, or None."""
    return current_segments().filter(customer=customer).first()


def segment_members(segment: str) -> QuerySet[CustomerSegment]:
    """Return a segment's current rows with their customers, riskiest first."""
    return (
        current_segments()
        .filter(rfm_segment=segment)
        .select_related("customer")
        .order_by("-churn_risk", "customer_id")
    )


def _top_categories(affinity_lists, limit: int = 3) -> list[dict]:
    totals: Counter = Counter()
    names: dict = {}
    for affinities in affinity_lists:
        for entry in affinities or []:
            totals[entry["category"]] += entry["share"]
            names[entry["category"]] = entry["name"]
    count = max(len(affinity_lists), 1)
    return [
        {"category": pk, "name": names[pk], "share": round(total / count, 4)}
        for pk, total in totals.most_common(limit)
    ]


def segment_overview(*, batch_id: int | None = None) -> list[dict]:
    """Return per named segment: size, revenue, revenue share, average churn risk and
    top categories (mean affinity share), for the active batch unless one is given."""
    if batch_id is None:
        batch_id = active_segments_batch_id()
    rows = CustomerSegment.objects.filter(batch_id=batch_id)
    stats = {
        s["rfm_segment"]: s
        for s in rows.values("rfm_segment").annotate(
            size=Count("pk"), revenue=Sum("monetary"), churn=Avg("churn_risk")
        )
    }
    affinities = defaultdict(list)
    for segment, affinity in rows.values_list("rfm_segment", "category_affinities"):
        affinities[segment].append(affinity)
    total = sum((s["revenue"] or Decimal(0)) for s in stats.values()) or Decimal(0)
    labels = dict(CustomerSegment.Rfm.choices)
    overview = []
    for segment in SEGMENT_ORDER:
        s = stats.get(segment)
        if not s:
            continue
        revenue = s["revenue"] or Decimal(0)
        overview.append(
            {
                "segment": segment,
                "label": labels[segment],
                "size": s["size"],
                "revenue": revenue,
                "revenue_share": float(revenue / total) if total else 0.0,
                "average_churn_risk": s["churn"],
                "top_categories": _top_categories(affinities[segment]),
            }
        )
    return overview


def segment_snapshots(limit: int = 12) -> list[SegmentSnapshot]:
    return list(SegmentSnapshot.objects.order_by("-taken_at")[:limit])


@transaction.atomic
def segment_snapshot_record(
    *, batch_id: int, previous_batch_id: int | None
) -> SegmentSnapshot:
    """Record a served batch's segment sizes, revenue and movement since the previous
    batch (customers in both, by segment then new segment); idempotent per batch."""
    rows = CustomerSegment.objects.filter(batch_id=batch_id)
    sizes, revenue = {}, {}
    for s in rows.values("rfm_segment").annotate(n=Count("pk"), money=Sum("monetary")):
        sizes[s["rfm_segment"]] = s["n"]
        revenue[s["rfm_segment"]] = float(s["money"] or 0)
    transitions: dict[str, dict[str, int]] = {}
    if previous_batch_id is not None:
        before = dict(
            CustomerSegment.objects.filter(batch_id=previous_batch_id).values_list(
                "customer_id", "rfm_segment"
            )
        )
        moves: Counter = Counter()
        for customer, segment in rows.values_list("customer_id", "rfm_segment"):
            if customer in before:
                moves[(before[customer], segment)] += 1
        for (old, new), n in sorted(moves.items()):
            transitions.setdefault(old, {})[new] = n
    snapshot, _ = SegmentSnapshot.objects.update_or_create(
        batch_id=batch_id,
        defaults={
            "taken_at": timezone.now(),
            "sizes": sizes,
            "revenue": revenue,
            "transitions": transitions,
        },
    )
    return snapshot


CSV_HEADER = [
    "customer_id",
    "username",
    "email",
    "segment",
    "churn_risk",
    "top_categories",
]


def segment_csv_rows(segment: str):
    """Yield the CSV header, then one row per customer of a current segment."""
    return customers_csv_rows(segment_members(segment))


def customers_csv_rows(rows: QuerySet[CustomerSegment]):
    """Yield the CSV header, then one row per segment row of a customer who opted in
    to marketing: customer id as imported (external id, else pk), username, e-mail,
    segment, churn risk, top categories. These files feed campaigns."""
    yield CSV_HEADER
    values = (
        rows.filter(customer__profile__marketing_opt_in=True)
        .values_list(
            "customer__external_id",
            "customer_id",
            "customer__username",
            "customer__email",
            "rfm_segment",
            "churn_risk",
            "category_affinities",
        )
        .iterator(chunk_size=2000)
    )
    for external_id, pk, username, email, name, risk, affinities in values:
        yield [
            external_id or pk,
            username,
            email,
            name,
            "" if risk is None else f"{risk:.4f}",
            "; ".join(entry["name"] for entry in affinities or []),
        ]
