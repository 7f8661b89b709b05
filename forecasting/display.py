"""What the forecast pages and the product admin show of one product's forecasts.

`forecast_display` reads the served forecasts through `forecasting.selectors` and
draws them with `forecasting.charts`: charts with their data tables, the summary and
the projected stock.
"""

from dataclasses import dataclass
from datetime import date

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from catalog.models import Product

from . import selectors
from .charts import band_chart, stock_chart
from .models import ForecastSummary, PurchaseOrder, SalesRecord
from .selectors import ForecastSeries
from .stock import StockProjection

HISTORY_HORIZONS = 3  # history shown before the forecast: three horizons
HISTORY_PERIODS = 84  # … or this many periods when there is no forecast
PERIOD_NAMES = {"D": "day", "W": "week"}
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
    """Return the product's last `periods` recorded sales before `before`, oldest first.

    Without a frequency, the one of the newest record is used.
    """
    records = SalesRecord.objects.filter(product=product, units__isnull=False)
    if frequency:
        records = records.filter(frequency=frequency)
    if before:
        records = records.filter(period_start__lt=before)
    rows = list(
        records.order_by("-period_start").values_list(
            "period_start", "frequency", "units", "price", "stockout"
        )[: periods * (1 if frequency else 2)]
    )
    if rows and not frequency:
        rows = [row for row in rows if row[1] == rows[0][1]][:periods]
    return [
        SalesPoint(day, freq, float(units), _float(price), stockout)
        for day, freq, units, price, stockout in reversed(rows)
    ]


def _float(value) -> float | None:
    return None if value is None else float(value)


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _band(series, past, *, title: str, unit: str, digits: int, **options) -> Chart:
    """Return a history-and-forecast chart, with a stock-out column where any."""
    future = []
    if series is not None:
        future = list(
            zip(series.dates, series.p10, series.p50, series.p90, strict=True)
        )
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
        f"{title} in {unit}: actual values, then the forecast quantiles.",
        [*columns, "P10", "P50 (median)", "P90"],
        rows,
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
        demand_chart=_band(
            demand,
            [(p.period_start, p.units, p.stockout) for p in history],
            title=f"Demand of {product.sku}",
            unit=f"units per {per}",
            digits=1,
        ),
        price_chart=_band(
            None if note else price,
            [(p.period_start, p.price, False) for p in history],
            title=f"Price of {product.sku}",
            unit=product.currency,
            digits=2,
            from_zero=False,
        ),
        stock_chart=projection and _stock(product, projection, orders),
        price_note=note,
        price_plan=plan,
    )
