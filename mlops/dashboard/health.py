"""Model health per kind: the champion against its best baseline, how old its
training data is, and whether the data has drifted since.

Drift is judged honestly simply, without stored statistics: the 28 days of data up to
the end of the champion's training data are re-read from the database and compared
with the days since (at least 7 of them). Two signs count as drift: the volume a day
(units sold) changed by 30% or more, or the mix of categories moved by 20% or more
(total variation distance of their shares of units). These thresholds are rules of
thumb for a warning, not a statistical test. For image categories the sign is the
share of new product images since training.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Case, Count, F, Max, Sum, Value, When
from django.db.models.fields import BooleanField
from django.utils import timezone

from catalog.models import ProductImage
from forecasting.models import SalesRecord
from orders.models import Order, OrderLine
from recommender.models import BehaviourEvent

from ..models import ModelKind, ModelVersion
from ..selectors import KIND_METRICS, best_baseline, primary_metric, serving_filters

WINDOW_DAYS = 28
MIN_NEW_DAYS = 7
VOLUME_DRIFT = 0.30
MIX_DRIFT = 0.20
NEW_IMAGES_DRIFT = 0.20

SOURCES = {
    ModelKind.RECOMMENDER: "orders and behaviour events",
    ModelKind.SEGMENTS: "orders",
    ModelKind.DEMAND: "sales history",
    ModelKind.PRICE: "sales history",
    ModelKind.IMAGE: "product images",
}


@dataclass(frozen=True)
class Drift:
    """What changed between the training window and the data since."""

    drifted: bool
    summary: str


@dataclass(frozen=True)
class KindHealth:
    """One kind's served model, its quality, the age of its data and any drift."""

    kind: str
    label: str
    champion: ModelVersion | None
    metric: str | None
    value: float | None
    baseline: tuple[str, float] | None
    higher_is_better: bool
    last_trained: datetime | None
    source: str
    latest_data: date | None
    training_data_end: date | None
    drift: Drift | None
    serving_note: str = ""  # e.g. serve-time filters remove most served rows

    @property
    def days_of_new_data(self) -> int | None:
        if self.latest_data is None or self.training_data_end is None:
            return None
        return max((self.latest_data - self.training_data_end).days, 0)


def _serving_note(kind: str) -> str:
    filtered = serving_filters(kind)
    return filtered.note() if filtered is not None else ""


def model_health(*, today: date | None = None) -> list[KindHealth]:
    """Return the health of every kind, in a fixed number of queries."""
    today = today or timezone.localdate()
    champions = {v.kind: v for v in ModelVersion.objects.filter(status="champion")}
    last_trained = dict(
        ModelVersion.objects.order_by()
        .values("kind")
        .annotate(at=Max("trained_at"))
        .values_list("kind", "at")
    )
    latest = _latest_data()
    health = []
    drift_cache: dict[tuple, Drift] = {}
    for kind, label in ModelKind.choices:
        champion = champions.get(kind)
        metric, value = (
            primary_metric(kind, champion.metrics) if champion else (None, None)
        )
        end = training_data_end(champion) if champion else None
        drift = None
        if champion is not None:
            key = (_drift_source(kind), end)
            if kind == ModelKind.IMAGE:
                key += (champion.pk,)
            if key not in drift_cache:
                drift_cache[key] = _drift(kind, champion, end, today)
            drift = drift_cache[key]
        health.append(
            KindHealth(
                kind=kind,
                label=label,
                champion=champion,
                metric=metric,
                value=value,
                baseline=best_baseline(champion) if champion else None,
                higher_is_better=KIND_METRICS.get(kind, ("", True))[1],
                last_trained=last_trained.get(kind),
                source=SOURCES[kind],
                latest_data=latest[kind],
                training_data_end=end,
                drift=drift,
                serving_note=_serving_note(kind) if champion else "",
            )
        )
    return health


def training_data_end(version: ModelVersion) -> date:
    """Return the last day of a version's training data (its training day if unknown)."""
    fingerprint = version.data_fingerprint or {}
    text = (
        fingerprint.get("last_period") or (fingerprint.get("date_range") or [None])[-1]
    )
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return timezone.localdate(version.trained_at)


def _day(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localdate(value)
    return value


def _latest_data() -> dict[str, date | None]:
    """Return the day of the newest row each kind learns from (four queries)."""
    orders = _day(Order.objects.aggregate(at=Max("placed_at"))["at"])
    events = _day(BehaviourEvent.objects.aggregate(at=Max("occurred_at"))["at"])
    sales = SalesRecord.objects.filter(units__isnull=False).aggregate(
        at=Max("period_start")
    )["at"]
    images = _day(ProductImage.objects.aggregate(at=Max("created_at"))["at"])
    return {
        ModelKind.RECOMMENDER: max(filter(None, [orders, events]), default=None),
        ModelKind.SEGMENTS: orders,
        ModelKind.DEMAND: sales,
        ModelKind.PRICE: sales,
        ModelKind.IMAGE: images,
    }


def _drift_source(kind: str) -> str:
    """Return the data a kind's drift is measured on (kinds on the same data share)."""
    if kind in (ModelKind.DEMAND, ModelKind.PRICE):
        return "sales"
    if kind in (ModelKind.RECOMMENDER, ModelKind.SEGMENTS):
        return "orders"
    return kind


def _drift(kind: str, champion: ModelVersion, end: date, today: date) -> Drift:
    if kind == ModelKind.IMAGE:
        return _image_drift(champion)
    new_days = min((today - end).days, WINDOW_DAYS)
    if new_days < MIN_NEW_DAYS:
        return Drift(
            False,
            f"{max(new_days, 0)} day(s) since the training data: too few to compare.",
        )
    first, last = end - timedelta(days=WINDOW_DAYS - 1), end + timedelta(days=new_days)
    if kind in (ModelKind.DEMAND, ModelKind.PRICE):
        rows = SalesRecord.objects.filter(
            frequency=SalesRecord.Frequency.DAY,
            units__isnull=False,
            period_start__gte=first,
            period_start__lte=last,
        ).annotate(
            after=_after("period_start", end), category=F("product__category_id")
        )
        quantity = "units"
    else:
        rows = (
            OrderLine.objects.filter(
                order__kind=Order.Kind.SALE,
                order__placed_at__date__gte=first,
                order__placed_at__date__lte=last,
            )
            .exclude(order__status=Order.Status.CANCELLED)
            .annotate(
                after=_after("order__placed_at__date", end),
                category=F("product__category_id"),
            )
        )
        quantity = "quantity"
    units = {False: {}, True: {}}
    for after, category, total in (
        rows.order_by()
        .values("after", "category")
        .annotate(total=Sum(quantity))
        .values_list("after", "category", "total")
    ):
        units[bool(after)][category] = float(total or 0)
    return _compare(units[False], units[True], new_days)


def _after(field: str, end: date) -> Case:
    return Case(
        When(**{f"{field}__gt": end}, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def _compare(before: dict, after: dict, new_days: int) -> Drift:
    """Compare units a day and the category mix of two windows."""
    total_before, total_after = sum(before.values()), sum(after.values())
    if not total_before:
        return Drift(bool(total_after), "No sales in the 28 days before training.")
    rate_before = total_before / WINDOW_DAYS
    rate_after = total_after / new_days
    change = rate_after / rate_before - 1.0
    mix = 0.5 * sum(
        abs(after.get(c, 0.0) / (total_after or 1) - before.get(c, 0.0) / total_before)
        for c in set(before) | set(after)
    )
    drifted = abs(change) >= VOLUME_DRIFT or (total_after > 0 and mix >= MIX_DRIFT)
    return Drift(
        drifted,
        f"Units a day {change:+.0%} ({rate_before:.4g} in the {WINDOW_DAYS} days "
        f"before the training data ended, {rate_after:.4g} in the {new_days} days "
        f"since); category mix moved {mix:.0%}.",
    )


def _image_drift(champion: ModelVersion) -> Drift:
    examples = int((champion.data_fingerprint or {}).get("examples") or 0)
    new = ProductImage.objects.filter(created_at__gt=champion.trained_at).aggregate(
        n=Count("product", distinct=True)
    )["n"]
    share = new / examples if examples else (1.0 if new else 0.0)
    return Drift(
        share >= NEW_IMAGES_DRIFT,
        f"{new} product(s) with images added since training "
        f"({share:.0%} of the {examples} training examples).",
    )
