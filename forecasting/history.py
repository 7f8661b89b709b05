"""Sales history as a `Panel`: the arrays every forecaster reads, from SalesRecords.

One series per product at one frequency (daily or weekly). Periods without a record
after a product's first sale sold nothing; periods before it are NaN (not on sale
yet). Prices without a sale are the usual (base) price carried forward. Future
periods take the planned prices and promotions (records with empty `units`), or the
last base price and no promotion where nothing is planned. Imported unit costs and
competitor prices are carried where a record has them (NaN elsewhere), and left out
of the panel when no series has any.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from django.db.models import Max

from catalog.models import Product

from .ml.panel import PERIOD_DAYS, Panel
from .models import SalesRecord

DEFAULT_HORIZON = {"D": 28, "W": 8}
TRAINING_PERIODS = {"D": 730, "W": 156}  # at most two (three) years to learn from
INFERENCE_PERIODS = {"D": 182, "W": 104}  # enough for every forecaster's inputs
PERIOD_NAME = {"D": "day", "W": "week"}


@dataclass(frozen=True)
class SalesPanel:
    """A panel and the product (and category) pk behind each series and category."""

    panel: Panel
    product_ids: np.ndarray
    category_ids: np.ndarray  # pk of category index i + 1 (0 is "none/unknown")


def history_frequency() -> str | None:
    """Return the frequency most of the recorded sales are kept at, if any."""
    counts = Counter(
        SalesRecord.objects.filter(units__isnull=False)
        .values_list("frequency", flat=True)
        .order_by()[:10_000]
    )
    return counts.most_common(1)[0][0] if counts else None


def history_end(frequency: str) -> date | None:
    """Return the start of the latest period with recorded sales."""
    return SalesRecord.objects.filter(
        frequency=frequency, units__isnull=False
    ).aggregate(end=Max("period_start"))["end"]


def sales_panel(
    *,
    frequency: str,
    end: date,
    horizon: int,
    periods: int,
    product_ids: list[int] | None = None,
    category_ids: np.ndarray | None = None,
) -> SalesPanel:
    """Return the last `periods` periods up to `end` and `horizon` periods after it.

    Series are the products given, or every product with a sale in the window.
    `category_ids` fixes the category indices (those a trained model knows);
    by default every category of the catalogue in pk order.
    """
    step = PERIOD_DAYS[frequency]
    start = end - timedelta(days=step * (periods - 1))
    last = end + timedelta(days=step * horizon)
    records = SalesRecord.objects.filter(
        frequency=frequency, period_start__gte=start, period_start__lte=last
    )
    if product_ids is not None:
        records = records.filter(product_id__in=product_ids)
    rows = list(
        records.order_by().values_list(
            "product_id",
            "period_start",
            "units",
            "price",
            "base_price",
            "promo",
            "stockout",
            "cost",
            "competitor_price",
        )
    )
    if product_ids is None:
        product_ids = sorted({r[0] for r in rows if r[2] is not None})
    ids = np.asarray(product_ids, dtype=np.int64)
    catalogue = dict(
        Product.objects.filter(pk__in=ids.tolist()).values_list("pk", "category_id")
    )
    list_price = dict(
        Product.objects.filter(pk__in=ids.tolist()).values_list("pk", "price")
    )
    if category_ids is None:
        category_ids = np.array(
            sorted(pk for pk in set(catalogue.values()) if pk is not None), np.int64
        )
    arrays = _fill(rows, ids, start, step, periods, horizon)
    panel = Panel(
        units=arrays["units"],
        stockout=arrays["stockout"],
        price=_carry(arrays["price"], arrays["base"], ids, list_price),
        base_price=_carry(arrays["base"], arrays["base"], ids, list_price),
        promo=np.nan_to_num(arrays["promo"]).astype(np.float32),
        category=_category_index(ids, catalogue, category_ids),
        start=start,
        frequency=frequency,
        horizon=horizon,
        planned=arrays["planned"][:, periods:],
        cost=_imported(arrays["cost"]),
        competitor_price=_imported(arrays["competitor"]),
    )
    return SalesPanel(panel, ids, np.asarray(category_ids, dtype=np.int64))


def _fill(rows, ids, start, step, periods, horizon) -> dict[str, np.ndarray]:
    n, width = len(ids), periods + horizon
    units = np.full((n, periods), np.nan, dtype=np.float32)
    stockout = np.zeros((n, periods), dtype=bool)
    price = np.full((n, width), np.nan, dtype=np.float64)
    base = np.full((n, width), np.nan, dtype=np.float64)
    promo = np.full((n, width), np.nan, dtype=np.float32)
    planned = np.zeros((n, width), dtype=bool)
    cost = np.full((n, width), np.nan, dtype=np.float32)
    competitor = np.full((n, width), np.nan, dtype=np.float32)
    row_of = {pk: i for i, pk in enumerate(ids.tolist())}
    for product, period, sold, paid, usual, share, out, unit_cost, rival in rows:
        i = row_of.get(product)
        t = (period - start).days // step
        if i is None or not 0 <= t < width:
            continue
        if sold is not None and t < periods:
            units[i, t] = float(sold)
            stockout[i, t] = out
        elif sold is None and t >= periods:
            planned[i, t] = True
        elif sold is None:
            continue  # a plan for a period that has passed: history says what sold
        price[i, t] = float(paid) if paid is not None else np.nan
        base[i, t] = float(usual) if usual is not None else np.nan
        promo[i, t] = share
        if unit_cost is not None:
            cost[i, t] = float(unit_cost)
        if rival is not None:
            competitor[i, t] = float(rival)
    # after a product's first sale, a period without a record sold nothing
    seen = np.cumsum(~np.isnan(units), axis=1) > 0
    units = np.where(seen & np.isnan(units), 0.0, units).astype(np.float32)
    return {
        "units": units,
        "stockout": stockout,
        "price": price,
        "base": base,
        "promo": promo,
        "planned": planned,
        "cost": cost,
        "competitor": competitor,
    }


def _imported(values: np.ndarray) -> np.ndarray | None:
    """The array of an optional covariate, or None when no record has one."""
    return values if np.isfinite(values).any() else None


def _carry(values, base, ids, list_price) -> np.ndarray:
    """Fill gaps: the base price where none was paid, carried forward then back."""
    filled = np.where(np.isnan(values), base, values)
    filled = _forward_fill(filled)
    filled = _forward_fill(filled[:, ::-1])[:, ::-1]  # before the first known value
    fallback = np.array([float(list_price.get(pk) or 0.0) for pk in ids.tolist()])
    filled = np.where(np.isnan(filled), fallback[:, None], filled)
    return filled.astype(np.float32)


def _forward_fill(values: np.ndarray) -> np.ndarray:
    known = ~np.isnan(values)
    index = np.where(known, np.arange(values.shape[1]), 0)
    np.maximum.accumulate(index, axis=1, out=index)
    filled = values[np.arange(values.shape[0])[:, None], index]
    return np.where(known.any(axis=1, keepdims=True) | known, filled, np.nan)


def _category_index(ids, catalogue, category_ids) -> np.ndarray:
    position = {int(pk): i + 1 for i, pk in enumerate(np.asarray(category_ids))}
    return np.array(
        [position.get(catalogue.get(pk), 0) for pk in ids.tolist()], dtype=np.int32
    )


NOT_FORECAST_LISTED = 50  # products named in a report; the rest are counted


def products_not_forecast(frequency: str, end: date) -> dict[str, str]:
    """The SKUs with recorded sales at `frequency` that inference leaves out, each
    with the reason: inactive, or no sale in the inference window before `end`."""
    since = end - timedelta(days=PERIOD_DAYS[frequency] * INFERENCE_PERIODS[frequency])
    rows = (
        SalesRecord.objects.filter(frequency=frequency, units__isnull=False)
        .values("product__sku", "product__is_active")
        .annotate(last=Max("period_start"))
        .order_by("product__sku")
    )
    window = f"{INFERENCE_PERIODS[frequency]} {PERIOD_NAME[frequency]}s"
    reasons = {}
    for row in rows:
        if not row["product__is_active"]:
            reasons[row["product__sku"]] = "inactive product"
        elif row["last"] <= since:
            reasons[row["product__sku"]] = (
                f"no sale in the {window} up to {end} (last sale {row['last']})"
            )
    return reasons


def not_forecast_report(reasons: dict[str, str]) -> dict:
    """The products left out, as `model_report` shows them: a count and the first."""
    listed = dict(list(reasons.items())[:NOT_FORECAST_LISTED])
    return {"count": len(reasons), "products": listed}
