"""Reads of the served forecasts: points, summaries, stock advice and what-ifs.

Readers see only the active served batch of each kind (demand, price), as the
recommendation lists do, so a forecast being written is never half shown.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Avg, Q, QuerySet
from django.utils import timezone

from catalog.models import Category, Product
from catalog.selectors import product_lead_time_days, product_service_level
from mlops.models import ModelKind, ServedBatch

from .ml.panel import PERIOD_DAYS
from .models import ForecastPoint, ForecastSummary, PurchaseOrder, SalesRecord
from .stock import StockProjection, project_stock

DEFAULT_REVIEW_DAYS = 7
CENTS = Decimal("0.01")


def active_forecast_batch_id(kind: str) -> int | None:
    """Return the pk of the active served batch of `demand` or `price`, if any."""
    return (
        ServedBatch.objects.filter(kind=kind, state=ServedBatch.State.ACTIVE)
        .values_list("pk", flat=True)
        .first()
    )


def active_forecast_points() -> QuerySet[ForecastPoint]:
    """Return the served points of the active demand and price batches."""
    batches = ServedBatch.objects.filter(
        kind__in=[ModelKind.DEMAND, ModelKind.PRICE], state=ServedBatch.State.ACTIVE
    ).values("pk")
    return ForecastPoint.objects.filter(batch__in=batches)


def review_days() -> int:
    """Return the days between two orders of the same product (the review period)."""
    return int(getattr(settings, "FORECAST_REVIEW_DAYS", DEFAULT_REVIEW_DAYS))


# --- One product --------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastSeries:
    """A served quantile forecast of one product: one entry per future period."""

    kind: str  # demand or price
    frequency: str  # D or W
    dates: list[date]  # start of each period
    p10: list[float]
    p50: list[float]
    p90: list[float]

    @property
    def period_days(self) -> int:
        return PERIOD_DAYS[self.frequency]

    @property
    def points(self) -> list[dict]:
        """Return one {date, p10, p50, p90} per period."""
        return [
            {"date": day, "p10": p10, "p50": p50, "p90": p90}
            for day, p10, p50, p90 in zip(
                self.dates, self.p10, self.p50, self.p90, strict=True
            )
        ]


def _series(kind: str, rows: Iterable[tuple]) -> ForecastSeries | None:
    rows = list(rows)
    if not rows:
        return None
    return ForecastSeries(
        kind=kind,
        frequency=rows[0][0],
        dates=[row[1] for row in rows],
        p10=[row[2] for row in rows],
        p50=[row[3] for row in rows],
        p90=[row[4] for row in rows],
    )


SERIES_FIELDS = ("frequency", "period_start", "p10", "p50", "p90")


def _active_batch(kind: str) -> QuerySet[ServedBatch]:
    # A sub-select, so rows and their batch are read in one statement.
    return ServedBatch.objects.filter(kind=kind, state=ServedBatch.State.ACTIVE).values(
        "pk"
    )


def _served_series(product: Product, kinds: list[str]) -> dict[str, ForecastSeries]:
    """Return the product's served series of `kinds` (demand, price), in one query."""
    served = Q()
    for kind in kinds:
        served |= Q(kind=kind, batch__in=_active_batch(kind))
    rows = (
        ForecastPoint.objects.filter(served, product=product)
        .order_by("kind", "period_start")
        .values_list("kind", *SERIES_FIELDS)
    )
    by_kind = defaultdict(list)
    for kind, *fields in rows:
        by_kind[kind].append(fields)
    return {kind: _series(kind, fields) for kind, fields in by_kind.items()}


def _product_series(product: Product, kind: str) -> ForecastSeries | None:
    return _served_series(product, [kind]).get(kind)


def demand_forecast(product: Product) -> ForecastSeries | None:
    """Return the served demand forecast (units per period) of a product."""
    return _product_series(product, ForecastPoint.Kind.DEMAND)


def price_forecast(product: Product) -> ForecastSeries | None:
    """Return the served price forecast of a product."""
    return _product_series(product, ForecastPoint.Kind.PRICE)


LAST_PRICE = "last-price"  # `ml.price.LastPrice.name`


@dataclass(frozen=True)
class PriceVerdict:
    """Whether the served price forecast is the last price, and the scores behind."""

    last_price_serves: bool
    mase: float | None  # the served version's MASE on the held-back periods
    beaten: dict[str, float]  # MASE of the candidates it beat, by name


def price_verdict() -> PriceVerdict | None:
    """Return what serves the active price batch, or None when nothing serves."""
    batch = (
        ServedBatch.objects.filter(kind=ModelKind.PRICE, state=ServedBatch.State.ACTIVE)
        .select_related("model_version")
        .first()
    )
    if batch is None:
        return None
    version = batch.model_version
    beaten = {
        name: float(metrics["mase"])
        for name, metrics in (version.baselines or {}).items()
        if isinstance(metrics, dict) and "mase" in metrics
    }
    mase = (version.metrics or {}).get("mase")
    return PriceVerdict(
        last_price_serves=version.algorithm == LAST_PRICE,
        mase=None if mase is None else float(mase),
        beaten=beaten,
    )


def forecast_summary(product: Product) -> ForecastSummary | None:
    """Return what the served demand forecast of a product says, and why."""
    return ForecastSummary.objects.filter(
        batch__in=_active_batch(ModelKind.DEMAND), product=product
    ).first()


def open_purchase_orders(product: Product) -> QuerySet[PurchaseOrder]:
    """Return the product's open purchase orders, the earliest due first."""
    return PurchaseOrder.objects.filter(
        product=product, status=PurchaseOrder.Status.OPEN
    ).order_by("expected_on", "pk")


def stock_projection(
    product: Product, today: date | None = None
) -> StockProjection | None:
    """Return the product's projected stock and reorder advice, or None when it has
    no served demand forecast or is not stock-tracked."""
    if not product.stock_tracked:
        return None
    demand = demand_forecast(product)
    if demand is None:
        return None
    incoming = list(
        open_purchase_orders(product).values_list("expected_on", "quantity")
    )
    return _project(
        product.stock_on_hand,
        demand,
        incoming,
        product_lead_time_days(product),
        float(product_service_level(product)),
        today or timezone.localdate(),
    )


@dataclass(frozen=True)
class ProductForecast:
    """Everything served about one product's future, for its pages and the API."""

    product: Product
    demand: ForecastSeries | None
    price: ForecastSeries | None
    summary: ForecastSummary | None
    stock: StockProjection | None  # None: no demand forecast or not stock-tracked
    lead_time_days: int
    service_level: float
    review_days: int
    incoming: list[tuple[date, int]]  # open purchase orders: (expected on, units)


def product_forecast(product: Product, today: date | None = None) -> ProductForecast:
    """Return the product's served demand and price forecasts, summary and stock."""
    series = _served_series(product, [ModelKind.DEMAND, ModelKind.PRICE])
    demand = series.get(ModelKind.DEMAND)
    lead_time = product_lead_time_days(product)
    service_level = float(product_service_level(product))
    incoming = list(
        open_purchase_orders(product).values_list("expected_on", "quantity")
    )
    stock = None
    if demand is not None and product.stock_tracked:
        stock = _project(
            product.stock_on_hand,
            demand,
            incoming,
            lead_time,
            service_level,
            today or timezone.localdate(),
        )
    return ProductForecast(
        product=product,
        demand=demand,
        price=series.get(ModelKind.PRICE),
        summary=forecast_summary(product),
        stock=stock,
        lead_time_days=lead_time,
        service_level=service_level,
        review_days=review_days(),
        incoming=incoming,
    )


def _project(on_hand, demand, incoming, lead_time, service_level, today):
    return project_stock(
        on_hand=on_hand,
        dates=demand.dates,
        period_days=demand.period_days,
        p10=demand.p10,
        p50=demand.p50,
        p90=demand.p90,
        incoming=incoming,
        lead_time_days=lead_time,
        review_days=review_days(),
        service_level=service_level,
        today=today,
    )


# --- Every product ------------------------------------------------------------------


@dataclass(frozen=True)
class ReorderAdvice:
    """A stock-tracked product with its projection, lead time and service level."""

    product: Product
    lead_time_days: int
    service_level: float
    projection: StockProjection


def reorder_advice(
    *, product_ids: list[int] | None = None, today: date | None = None
) -> list[ReorderAdvice]:
    """Return the advice of every active stock-tracked product with a served demand
    forecast (or of `product_ids` only), in a fixed number of queries."""
    batch_id = active_forecast_batch_id(ModelKind.DEMAND)
    if batch_id is None:
        return []
    today = today or timezone.localdate()
    products = Product.objects.filter(is_active=True, stock_tracked=True).order_by(
        "sku"
    )
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
    products = list(products)
    wanted = {product.pk for product in products}
    points = defaultdict(list)
    rows = (
        ForecastPoint.objects.filter(batch_id=batch_id, kind=ForecastPoint.Kind.DEMAND)
        .order_by("product_id", "period_start")
        .values_list("product_id", *SERIES_FIELDS)
    )
    if product_ids is not None:
        rows = rows.filter(product_id__in=wanted)
    for product_id, *row in rows.iterator(chunk_size=10_000):
        if product_id in wanted:
            points[product_id].append(row)
    incoming = defaultdict(list)
    for product_id, expected_on, quantity in PurchaseOrder.objects.filter(
        status=PurchaseOrder.Status.OPEN, product_id__in=points.keys()
    ).values_list("product_id", "expected_on", "quantity"):
        incoming[product_id].append((expected_on, quantity))
    defaults = CategoryDefaults()
    advice = []
    for product in products:
        demand = _series(ForecastPoint.Kind.DEMAND, points.get(product.pk, ()))
        if demand is None:
            continue
        lead_time, service_level = defaults.for_product(product)
        projection = _project(
            product.stock_on_hand,
            demand,
            incoming[product.pk],
            lead_time,
            service_level,
            today,
        )
        advice.append(ReorderAdvice(product, lead_time, service_level, projection))
    return advice


class CategoryDefaults:
    """Lead times and service levels of every category, inherited, from one query."""

    def __init__(self):
        self.categories = {
            pk: (parent, lead_time, service_level)
            for pk, parent, lead_time, service_level in Category.objects.values_list(
                "pk", "parent_id", "default_lead_time_days", "default_service_level"
            )
        }

    def for_product(self, product: Product) -> tuple[int, float]:
        """Return the product's (lead time days, service level)."""
        lead_time, service_level = product.lead_time_days, product.service_level
        node = product.category_id
        while node is not None and (lead_time is None or service_level is None):
            parent, node_lead_time, node_service_level = self.categories[node]
            lead_time = node_lead_time if lead_time is None else lead_time
            if service_level is None:
                service_level = node_service_level
            node = parent
        if lead_time is None:
            lead_time = settings.SHOP_DEFAULT_LEAD_TIME_DAYS
        if service_level is None:
            service_level = settings.SHOP_DEFAULT_SERVICE_LEVEL
        return lead_time, float(service_level)


def _urgency(advice: ReorderAdvice):
    projection = advice.projection
    return (
        not projection.runs_out_before_delivery,
        projection.stockout_p50 or date.max,
        projection.stockout_p90 or date.max,
        advice.product.sku,
    )


def reorder_candidates(today: date | None = None) -> list[ReorderAdvice]:
    """Return the products to reorder now, those running out before a delivery could
    arrive first, then by stock-out date."""
    advice = [a for a in reorder_advice(today=today) if a.projection.reorder_now]
    return sorted(advice, key=_urgency)


def upcoming_stockouts(
    days: int = 28, today: date | None = None
) -> list[ReorderAdvice]:
    """Return products whose stock runs out within `days` at P90 (pessimistic) demand,
    the earliest first."""
    today = today or timezone.localdate()
    last = today + timedelta(days=days)
    advice = [
        a
        for a in reorder_advice(today=today)
        if a.projection.stockout_p90 is not None and a.projection.stockout_p90 < last
    ]
    return sorted(advice, key=_urgency)


# --- What if ------------------------------------------------------------------------


@dataclass(frozen=True)
class WhatIf:
    """Expected units, revenue and margin of a product at a price over some days."""

    price: Decimal
    days: int
    days_forecast: int  # days of the window the served forecast covers
    units: float
    units_at_planned_price: float
    revenue: Decimal
    margin: Decimal | None  # None when the product's cost is unknown
    elasticity: float | None
    elasticity_level: str  # product, category, shop, or none
    unit_cost: Decimal | None = None  # average over the units; None when unknown
    cost_source: str = "none"  # import (sales history), product, or none


def what_if(
    product: Product, price: Decimal, days: int, today: date | None = None
) -> WhatIf | None:
    """Return the expected sales at `price` over the next `days` days, or None when
    the product has no served demand forecast.

    Units are the served P50 demand of each period, prorated to the window, times
    (price / planned price) ** elasticity, the planned price being the shop's plan for
    that period or else the current price. The elasticity is the product's own from
    the served summary, else its category's average, else the shop's; with none the
    units stay as forecast. The margin takes each period's unit cost from imported
    sales records (the period's own, else the latest imported one), else the
    product's cost; None when neither is known.
    """
    demand = demand_forecast(product)
    if demand is None:
        return None
    today = today or timezone.localdate()
    end = today + timedelta(days=days)
    elasticity, level = elasticity_for(product)
    plans = planned_prices(product, demand.frequency, demand.dates)
    costs, latest_cost = imported_costs(product, demand.frequency, demand.dates)
    fallback_cost = latest_cost if latest_cost is not None else product.cost
    units = planned_units = total_cost = 0.0
    cost_known, cost_imported = True, latest_cost is not None
    covered = 0
    for start, p50 in zip(demand.dates, demand.p50, strict=True):
        period_end = start + timedelta(days=demand.period_days)
        overlap = (min(end, period_end) - max(today, start)).days
        if overlap <= 0:
            continue
        covered += overlap
        expected = p50 * overlap / demand.period_days
        planned = plans.get(start) or product.price
        factor = 1.0
        if elasticity is not None and planned and planned > 0:
            factor = (float(price) / float(planned)) ** elasticity
        planned_units += expected
        units += expected * factor
        unit_cost = costs.get(start, fallback_cost)
        cost_imported = cost_imported or start in costs
        if unit_cost is None:
            cost_known = False
        else:
            total_cost += expected * factor * float(unit_cost)
    revenue = Decimal(str(round(units, 6))) * price
    margin = average_cost = None
    cost_source = "none"
    if cost_known and (covered or fallback_cost is not None):
        margin = revenue - Decimal(str(round(total_cost, 6)))
        average_cost = Decimal(str(total_cost / units)) if units else fallback_cost
        cost_source = "import" if cost_imported else "product"
    return WhatIf(
        price=price,
        days=days,
        days_forecast=covered,
        units=units,
        units_at_planned_price=planned_units,
        revenue=revenue.quantize(Decimal("0.01")),
        margin=None if margin is None else margin.quantize(Decimal("0.01")),
        elasticity=elasticity,
        elasticity_level=level,
        unit_cost=None if average_cost is None else average_cost.quantize(CENTS),
        cost_source=cost_source,
    )


def imported_costs(
    product: Product, frequency: str, dates: list[date]
) -> tuple[dict[date, Decimal], Decimal | None]:
    """Return the imported unit cost of each future period that has one, and the
    latest imported unit cost before them (None if none)."""
    if not dates:
        return {}, None
    records = SalesRecord.objects.filter(
        product=product, frequency=frequency, cost__isnull=False
    )
    planned = dict(
        records.filter(period_start__range=(dates[0], dates[-1])).values_list(
            "period_start", "cost"
        )
    )
    latest = (
        records.filter(period_start__lt=dates[0])
        .order_by("-period_start")
        .values_list("cost", flat=True)
        .first()
    )
    return planned, latest


def elasticity_for(product: Product) -> tuple[float | None, str]:
    """Return the price elasticity of demand to use for a product, and its level."""
    batch_id = active_forecast_batch_id(ModelKind.DEMAND)
    if batch_id is None:
        return None, "none"
    summaries = ForecastSummary.objects.filter(
        batch_id=batch_id, elasticity__isnull=False
    )
    own = summaries.filter(product=product).values_list(
        "elasticity", "elasticity_level"
    )
    for elasticity, level in own[:1]:
        return elasticity, level or "product"
    if product.category_id is not None:
        average = summaries.filter(product__category_id=product.category_id).aggregate(
            e=Avg("elasticity")
        )["e"]
        if average is not None:
            return average, "category"
    average = summaries.aggregate(e=Avg("elasticity"))["e"]
    if average is not None:
        return average, "shop"
    return None, "none"


def planned_prices(
    product: Product, frequency: str, dates: list[date]
) -> dict[date, Decimal]:
    """Return the shop's planned price of each future period that has one."""
    if not dates:
        return {}
    return dict(
        SalesRecord.objects.filter(
            product=product,
            frequency=frequency,
            units__isnull=True,
            price__isnull=False,
            period_start__range=(dates[0], dates[-1]),
        ).values_list("period_start", "price")
    )
