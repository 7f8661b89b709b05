"""What the forecast pages and the product admin show of one product's forecasts.

`forecast_display` reads the served forecasts through `forecasting.selectors` and
draws them with `forecasting.charts`: charts with their data tables, the summary and
the projected stock.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from catalog.models import PriceChange, Product

from . import selectors
from .charts import band_chart, stock_chart
from .models import ForecastSummary, PurchaseOrder, SalesRecord
from .selectors import ForecastSeries
from .stock import StockProjection

HISTORY_HORIZONS = 3  # history shown before the forecast: three horizons
HISTORY_PERIODS = 84  # … or this many periods when there is no forecast
PERIOD_NAMES = {"D": "day", "W": "week"}
PERIOD_DAYS = {"D": 1, "W": 7}
# A daily history that sold on fewer than this share of its days is drawn as weekly
# totals: single-unit days a month apart read better as weeks than as thin bars.
SPARSE_SHARE = 0.2
DRIVERS = {
    "base": "Base demand",
    "price": "Price",
    "promotion": "Promotion",
    "season": "Season",
    "trend": "Trend",
}
ELASTICITY_LEVELS = {
    "product": "estimated for this product",
    "category": "its category's, as this product's own data is thin",
}


@dataclass(frozen=True)
class Chart:
    """A chart and the data table that is its text alternative."""

    svg: SafeString
    caption: str
    columns: list[str]
    rows: list[list[str]]
    unit: str = ""

    def html(self) -> SafeString:
        return render_to_string("forecasting/_chart.html", {"chart": self})


@dataclass(frozen=True)
class SalesPoint:
    period_start: date
    frequency: str
    units: float
    price: float | None
    stockout: bool


@dataclass(frozen=True)
class ForecastDisplay:
    """Everything the product page and the admin show of one product's forecasts."""

    product: Product
    frequency: str | None
    demand: ForecastSeries | None
    price: ForecastSeries | None
    summary: ForecastSummary | None
    projection: StockProjection | None
    purchase_orders: list[PurchaseOrder]  # open ones, the earliest due first
    demand_chart: Chart
    price_chart: Chart
    stock_chart: Chart | None
    price_note: str = ""  # why no price forecast is drawn, when the last price wins
    price_plan: list[tuple[date, object]] = ()  # the shop's planned prices ahead

    @property
    def has_forecast(self) -> bool:
        return self.demand is not None or self.price is not None

    @property
    def period_name(self) -> str:
        return PERIOD_NAMES.get(self.frequency or "D", "period")

    @property
    def breakdown(self) -> list[tuple[str, str]]:
        """Return (driver, units over the horizon) of the summary, base first."""
        if self.summary is None:
            return []
        items = sorted(
            (
                (name, units)
                for name, units in (self.summary.breakdown or {}).items()
                if isinstance(units, int | float) and not isinstance(units, bool)
            ),
            key=lambda item: (item[0] != "base", -abs(float(item[1]))),
        )
        return [
            (
                DRIVERS.get(name, name.replace("_", " ").capitalize()),
                f"{float(units):,.1f}" if name == "base" else f"{float(units):+,.1f}",
            )
            for name, units in items
        ]

    @property
    def elasticity_level_text(self) -> str:
        level = self.summary.elasticity_level if self.summary else ""
        return ELASTICITY_LEVELS.get(level, level or "estimated")

    @property
    def elasticity_effect(self) -> float | None:
        """Return the % change in units a 10% price rise would bring."""
        if self.summary is None or self.summary.elasticity is None:
            return None
        return (1.1**self.summary.elasticity - 1) * 100


def recent_sales(
    product: Product, frequency: str | None, before: date | None, periods: int
) -> list[SalesPoint]:
    """Return every period of the product's last `periods` before `before`, oldest
    first, zero where nothing was recorded.

    The sales history stores only periods with a sale or a stock-out, so a period
    without a record, after the product's first record, sold nothing. `before` is
    the forecast's origin (without one: the period after the newest record), so the
    history reaches it. Prices are carried forward from the shop's own price changes
    where it has them, else from the records: a price holds until it changes.
    Without a frequency, the one of the newest record is used.
    """
    records = SalesRecord.objects.filter(product=product, units__isnull=False)
    newest = (
        records.filter(**({"frequency": frequency} if frequency else {}))
        .order_by("-period_start")
        .values_list("period_start", "frequency")
        .first()
    )
    if newest is None:
        return []
    frequency = frequency or newest[1]
    step = timedelta(days=PERIOD_DAYS[frequency])
    before = before or newest[0] + step
    start = before - step * periods
    rows = records.filter(
        frequency=frequency, period_start__gte=start, period_start__lt=before
    ).values_list("period_start", "units", "price", "stockout")
    recorded = {day: (units, price, stockout) for day, units, price, stockout in rows}
    if not recorded:
        return []
    start = max(start, _first_on_sale(product, frequency, min(recorded)))
    days = [start + step * i for i in range((before - start) // step)]
    prices = _price_steps(product, days) or _record_price_steps(recorded, days)
    return [
        SalesPoint(
            day,
            frequency,
            float(recorded[day][0]) if day in recorded else 0.0,
            prices[i],
            day in recorded and recorded[day][2],
        )
        for i, day in enumerate(days)
    ]


def _first_on_sale(product: Product, frequency: str, first_shown: date) -> date:
    """Return the first period the product was on sale, as far as the data tell."""
    first = (
        SalesRecord.objects.filter(
            product=product, frequency=frequency, units__isnull=False
        )
        .order_by("period_start")
        .values_list("period_start", flat=True)
        .first()
    )
    return min(first or first_shown, first_shown)


def _price_steps(product: Product, days: list[date]) -> list[float | None]:
    """Return the shop's own price in force on each day, from its price changes."""
    if not days:
        return []
    changes = PriceChange.objects.filter(product=product).exclude(
        source=PriceChange.Source.COMPETITOR
    )
    end = timezone.make_aware(datetime.combine(days[-1], time.max))
    start = timezone.make_aware(datetime.combine(days[0], time.min))
    in_window = list(
        changes.filter(effective_at__gte=start, effective_at__lte=end)
        .order_by("effective_at", "pk")
        .values_list("effective_at", "price")
    )
    before = (
        changes.filter(effective_at__lt=start)
        .order_by("-effective_at", "-pk")
        .values_list("effective_at", "price")
        .first()
    )
    steps = ([before] if before else []) + in_window
    if not steps:
        return []
    dated = [(timezone.localdate(moment), float(price)) for moment, price in steps]
    prices, current, k = [], None, 0
    for day in days:
        while k < len(dated) and dated[k][0] <= day:
            current = dated[k][1]
            k += 1
        prices.append(current)
    return prices


def _record_price_steps(recorded: dict, days: list[date]) -> list[float | None]:
    """Return the recorded prices, each carried forward until the next one."""
    prices, current = [], None
    for day in days:
        if day in recorded and recorded[day][1] is not None:
            current = float(recorded[day][1])
        prices.append(current)
    return prices


def weekly_totals(history: list[SalesPoint], before: date) -> list[SalesPoint]:
    """Return the daily history summed into weeks that end the day before `before`.

    A week with a stock-out day is marked; its price is the last day's.
    """
    weeks: dict[date, list[SalesPoint]] = {}
    for point in history:
        offset = (before - point.period_start).days - 1
        weeks.setdefault(before - timedelta(days=7 * (offset // 7 + 1)), []).append(
            point
        )
    return [
        SalesPoint(
            start,
            "W",
            sum(p.units for p in days),
            days[-1].price,
            any(p.stockout for p in days),
        )
        for start, days in sorted(weeks.items())
    ]


def is_sparse(history: list[SalesPoint]) -> bool:
    """Whether a daily history sold on too few days to read as daily bars."""
    if not history or history[0].frequency != "D" or len(history) < 14:
        return False
    selling = sum(1 for p in history if p.units > 0)
    return selling < SPARSE_SHARE * len(history)


def _float(value) -> float | None:
    return None if value is None else float(value)


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _quantiles(series: ForecastSeries | None) -> list[tuple]:
    """Return a served series as (period, p10, p50, p90) rows."""
    if series is None:
        return []
    return list(zip(series.dates, series.p10, series.p50, series.p90, strict=True))


def _weekly_quantiles(future: list[tuple]) -> list[tuple]:
    """Return daily quantiles summed over each full week (a partial one is left out).

    A sum of daily P10s (P90s) is below (above) the week's own P10 (P90): the band
    drawn is wider than the week's 80% range, which the chart's caption says.
    """
    full = len(future) // 7 * 7
    return [
        (
            future[i][0],
            *(sum(float(row[q]) for row in future[i : i + 7]) for q in (1, 2, 3)),
        )
        for i in range(0, full, 7)
    ]


def _demand(product: Product, demand, history: list[SalesPoint], per: str) -> Chart:
    """Return the demand chart: daily bars, or weekly totals for a sparse product."""
    title = f"Demand of {product.sku}"
    future = _quantiles(demand)
    if is_sparse(history) and (demand is None or demand.frequency == "D"):
        origin = future[0][0] if future else history[-1].period_start + timedelta(1)
        selling = sum(1 for p in history if p.units > 0)
        note = (
            f"Weekly totals: the product sold on {selling} of {len(history)} days, "
            "too few to read as daily bars."
        )
        if len(future) >= 7:
            note += (
                " The forecast band adds up the daily P10 and P90, so it is wider "
                "than the week's own 80% range."
            )
        weeks = weekly_totals(history, origin)
        past = [(p.period_start, p.units, p.stockout) for p in weeks]
        return _band(
            _weekly_quantiles(future) if len(future) >= 7 else [],
            past,
            title=title,
            unit="units per week",
            digits=1,
            note=note,
            history_style="bars",
            forecast_style="steps",
            period_days=7,
        )
    return _band(
        future,
        [(p.period_start, p.units, p.stockout) for p in history],
        title=title,
        unit=f"units per {per}",
        digits=1,
        history_style="bars",
        period_days=PERIOD_DAYS.get(history[0].frequency if history else "D", 1),
    )


def _band(
    future, past, *, title: str, unit: str, digits: int, note: str = "", **options
) -> Chart:
    """Return a history-and-forecast chart, with a stock-out column where any."""
    stockouts = any(out for _, _, out in past)
    rows = [
        [d.isoformat(), _number(v, digits), *(["yes" if out else ""] * stockouts)]
        + ["", "", ""]
        for d, v, out in past
    ]
    rows += [
        [d.isoformat(), "", *([""] * stockouts), *(_number(q, digits) for q in qs)]
        for d, *qs in future
    ]
    columns = ["Period", "Actual", *(["Stock-out"] * stockouts)]
    return Chart(
        band_chart(past, future, title=title, unit=unit, **options),
        f"{title} in {unit}: actual values, then the forecast quantiles."
        + (f" {note}" if note else ""),
        [*columns, "P10", "P50 (median)", "P90"],
        rows,
        unit,
    )


def _stock(product: Product, projection: StockProjection, orders) -> Chart:
    markers = [
        (day, label)
        for day, label in [
            (projection.stockout_p50, "Stock-out (P50 demand)"),
            (projection.stockout_p90, "Stock-out (P90 demand)"),
        ]
        if day is not None
    ]
    if projection.dates:  # overdue orders are expected on the first day
        first, last = projection.dates[0], projection.dates[-1]
        markers += [
            (max(order.expected_on, first), f"Delivery of {order.quantity}")
            for order in orders
            if order.expected_on <= last
        ]
    title = f"Projected stock of {product.sku}"
    return Chart(
        stock_chart(
            projection.dates,
            projection.on_hand_p50,
            projection.on_hand_p90,
            title=title,
            reorder_point=projection.reorder_point,
            markers=markers,
        ),
        f"{title}: units on hand at the end of each period.",
        ["Period", "On hand at P50 demand", "On hand at P90 demand"],
        [
            [d.isoformat(), _number(p50), _number(p90)]
            for d, p50, p90 in zip(
                projection.dates,
                projection.on_hand_p50,
                projection.on_hand_p90,
                strict=True,
            )
        ],
    )


LAST_PRICE_NOTE = (
    "The last price is the best forecast here: on the held-back periods no price "
    "model beat repeating it{scores}, so no forecast is drawn."
)


def price_note(verdict: selectors.PriceVerdict | None) -> str:
    """What the admin says instead of drawing a price forecast the last price beats."""
    if verdict is None or not verdict.last_price_serves:
        return ""
    scores = ""
    if verdict.mase is not None and verdict.beaten:
        others = ", ".join(f"{n} {m:.3f}" for n, m in sorted(verdict.beaten.items()))
        scores = f" (MASE {verdict.mase:.3f} against {others})"
    return LAST_PRICE_NOTE.format(scores=scores)


def forecast_display(product: Product) -> ForecastDisplay:
    """Return the charts and facts of a product's served forecasts (bounded queries).

    Where the last price serves the price forecast, it is not drawn: the page says
    the last price is the best forecast and lists the shop's planned prices, if any.
    """
    demand = selectors.demand_forecast(product)
    price = selectors.price_forecast(product)
    note = price_note(selectors.price_verdict()) if price else ""
    plan = (
        sorted(selectors.planned_prices(product, price.frequency, price.dates).items())
        if price
        else []
    )
    served = demand or price
    if served:
        periods = len(served.dates) * HISTORY_HORIZONS
        history = recent_sales(product, served.frequency, served.dates[0], periods)
    else:
        history = recent_sales(product, None, None, HISTORY_PERIODS)
    frequency = (
        served.frequency if served else history[0].frequency if history else None
    )
    per = PERIOD_NAMES.get(frequency, "period")
    projection = selectors.stock_projection(product)
    orders = []
    if product.stock_tracked:
        orders = list(selectors.open_purchase_orders(product))
    return ForecastDisplay(
        product=product,
        frequency=frequency,
        demand=demand,
        price=price,
        summary=selectors.forecast_summary(product) if demand else None,
        projection=projection,
        purchase_orders=orders,
        demand_chart=_demand(product, demand, history, per),
        price_chart=_band(
            [] if note else _quantiles(price),
            [(p.period_start, p.price, False) for p in history],
            title=f"Price of {product.sku}",
            unit=product.currency,
            digits=2,
            from_zero=False,
            history_style="steps",
            forecast_style="steps",
            period_days=PERIOD_DAYS.get(frequency or "D", 1),
        ),
        stock_chart=projection and _stock(product, projection, orders),
        price_note=note,
        price_plan=plan,
    )
