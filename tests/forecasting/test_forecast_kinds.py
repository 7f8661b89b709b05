"""The demand and price kinds through the platform: train, gate, infer, serve."""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from catalog.models import Category, Product
from forecasting.history import sales_panel
from forecasting.ml.ensemble import ENSEMBLES
from forecasting.models import ForecastPoint, ForecastSummary, SalesRecord
from mlops.models import ModelVersion, Run, ServedBatch
from mlops.runs import run_request

pytestmark = pytest.mark.django_db(transaction=True)

END = date(2026, 6, 30)
DAYS = 140
TINY_LSTM = {
    "epochs": 1,
    "hidden": 8,
    "max_windows": 400,
    "batch_size": 128,
    "lightgbm_estimators": 30,
}


def build_history(*, products=6, days=DAYS, seed=0):
    """Daily sales with a weekly rhythm, promotions that lift sales, a stock-out."""
    rng = np.random.default_rng(seed)
    aisle = Category.objects.create(name="Aisle")
    items = Product.objects.bulk_create(
        Product(sku=f"F{i}", name=f"Food {i}", category=aisle, price=Decimal(4))
        for i in range(products)
    )
    start = END - timedelta(days=days - 1)
    records = []
    for i, product in enumerate(items):
        for d in range(days):
            day = start + timedelta(days=d)
            promo = d % 21 < 3
            price = Decimal("3.00") if promo else Decimal("4.00")
            mean = (3 + i) * (1.5 if day.weekday() >= 5 else 1.0) * (2 if promo else 1)
            stockout = i == 0 and 60 <= d < 65
            units = 0 if stockout else int(rng.poisson(mean))
            records.append(
                SalesRecord(
                    product=product,
                    period_start=day,
                    frequency="D",
                    units=units,
                    price=price,
                    base_price=Decimal("4.00"),
                    promo=1.0 if promo else 0.0,
                    stockout=stockout,
                )
            )
    # a planned promotion in the first future week of product 1
    for d in range(1, 4):
        records.append(
            SalesRecord(
                product=items[1],
                period_start=END + timedelta(days=d),
                frequency="D",
                units=None,
                price=Decimal("3.00"),
                base_price=Decimal("4.00"),
                promo=1.0,
            )
        )
    SalesRecord.objects.bulk_create(records)
    return items


def run(kind, type_, **options):
    created = run_request(kind=kind, type=type_, options=options)
    created.refresh_from_db()
    assert created.state == Run.State.SUCCEEDED, created.error
    return created


def test_panel_reads_history_plans_and_gaps(db):
    items = build_history(products=2, days=30)
    sales = sales_panel(frequency="D", end=END, horizon=7, periods=35)
    panel = sales.panel
    assert sales.product_ids.tolist() == [p.pk for p in items]
    assert panel.units.shape == (2, 35)
    assert np.isnan(panel.units[:, :5]).all()  # before the first sale
    assert not np.isnan(panel.units[:, 5:]).any()
    assert panel.stockout[0].sum() == 0  # the stock-out is earlier than 30 days
    future = slice(35, 42)
    assert panel.planned[1, :3].all() and not panel.planned[0].any()
    assert np.allclose(panel.price[1, future][:3], 3.0)
    assert np.allclose(panel.price[0, future], 4.0)
    assert np.allclose(panel.promo[1, future][:3], 1.0)
    assert panel.category.tolist() == [1, 1]


def test_demand_kind_measures_baselines_and_serves_forecasts_with_explanations(db):
    items = build_history()
    train = run(
        "demand", Run.Type.TRAIN, horizon=14, calibration_origins=1, **TINY_LSTM
    )
    version = ModelVersion.objects.get(run=train)
    ensembles = version.protocol["ensembles"]
    assert set(ensembles) == set(ENSEMBLES)
    winners = [n for n, e in ensembles.items() if e["beats_members"]]
    expected = min(winners, key=lambda n: ensembles[n]["mase"]) if winners else "lstm"
    assert version.algorithm == expected
    assert set(version.protocol["model_members"]) == set(
        ENSEMBLES.get(expected, ("lstm",))
    )
    assert version.protocol["deep_model_vs_best_peer"]["lstm_mase"] > 0
    assert version.protocol["not_forecast"] == {"count": 0, "products": {}}
    assert set(version.metrics) >= {"mase", "rmsse", "pinball", "coverage_p10_p90"}
    assert set(version.baselines) == {
        "seasonal-naive",
        "moving-average-28",
        "exponential-smoothing",
        "gradient-boosting",
        "lightgbm",
        "auto-ets",
    }
    assert version.protocol["holdout_periods"] == 14
    assert version.protocol["frequency"] == "D"
    calibration = version.protocol["interval_calibration"]
    for name in (expected, "seasonal-naive", "lightgbm", "auto-ets"):
        assert set(calibration[name]) >= {
            "coverage_before",
            "coverage_after",
            "holdout_scale",
            "served_scale",
        }
    served_scale = calibration[expected]["served_scale"]
    assert version.hyperparameters["interval_scale"] == served_scale
    champion = ModelVersion.objects.get(kind="demand", status="champion")
    best = min(
        [(version.algorithm, version.metrics), *version.baselines.items()],
        key=lambda item: item[1]["mase"],
    )
    assert champion.algorithm == best[0]

    run("demand", Run.Type.INFER)
    batch = ServedBatch.objects.get(kind="demand", state=ServedBatch.State.ACTIVE)
    points = ForecastPoint.objects.filter(batch=batch, kind="demand")
    assert points.count() == len(items) * 14
    first = points.order_by("period_start").first()
    assert first.period_start == END + timedelta(days=1)
    assert all(p.p10 <= p.p50 <= p.p90 for p in points)
    summaries = ForecastSummary.objects.filter(batch=batch)
    assert summaries.count() == len(items)
    summary = summaries.get(product=items[1])
    assert summary.explanation
    assert set(summary.breakdown) >= {"base", "price", "promotion"}
    total = sum(points.filter(product=items[1]).values_list("p50", flat=True))
    assert summary.horizon_units_p50 == pytest.approx(total, rel=1e-3)


def test_price_kind_serves_the_planned_price(db):
    items = build_history(products=3)
    run("price", Run.Type.TRAIN, horizon=14)
    version = ModelVersion.objects.get(kind="price", status__in=["champion"])
    assert {"mase", "pinball", "coverage_p10_p90"} <= set(version.metrics)
    run("price", Run.Type.INFER)
    points = ForecastPoint.objects.filter(kind="price", product=items[1]).order_by(
        "period_start"
    )
    assert points.count() == 14
    planned = [p.p50 for p in points[:3]]
    assert planned == pytest.approx([3.0, 3.0, 3.0])


def test_panel_carries_imported_costs_and_competitor_prices(db):
    items = build_history(products=2, days=30)
    assert sales_panel(frequency="D", end=END, horizon=7, periods=35).panel.cost is None
    SalesRecord.objects.filter(product=items[0], period_start=END).update(
        cost=Decimal("2.10"), competitor_price=Decimal("3.90")
    )
    SalesRecord.objects.filter(product=items[1], units__isnull=True).update(
        cost=Decimal("2.50")
    )

    panel = sales_panel(frequency="D", end=END, horizon=7, periods=35).panel

    assert (
        panel.cost[0, 34] == pytest.approx(2.1) and np.isnan(panel.cost[0, :34]).all()
    )
    assert panel.cost[1, 35:38] == pytest.approx([2.5] * 3)  # planned periods
    assert panel.competitor_price[0, 34] == pytest.approx(3.9)
    assert np.isfinite(panel.competitor_price).sum() == 1


def test_price_kind_floors_at_cost_and_reports_the_covariates(db):
    items = build_history(products=3)
    SalesRecord.objects.filter(product=items[2]).update(cost=Decimal("3.50"))
    run("price", Run.Type.TRAIN, horizon=14)
    version = ModelVersion.objects.get(kind="price", status="champion")
    covariates = version.protocol["covariates"]
    assert covariates["cost_series"] == 1
    assert {"mase", "pinball"} <= set(covariates["without_them"])
    run("price", Run.Type.INFER)
    floored = ForecastPoint.objects.filter(kind="price", product=items[2])
    assert floored.count() == 14
    assert min(floored.values_list("p10", flat=True)) >= 3.5  # promotions go to 3.00
    others = ForecastPoint.objects.filter(kind="price", product=items[0])
    assert min(others.values_list("p10", flat=True)) == pytest.approx(3.0)


def test_training_without_history_is_refused(db):
    created = run_request(kind="demand", type=Run.Type.TRAIN, options={})
    created.refresh_from_db()
    assert created.state == Run.State.FAILED
    assert "No sales history" in created.error


def test_a_second_training_is_gated_against_the_remeasured_champion(db):
    """The champion's artifact is loaded and scored on the new run's holdout."""
    build_history(products=3)
    run("price", Run.Type.TRAIN, horizon=14)
    second = ModelVersion.objects.get(run=run("price", Run.Type.TRAIN, horizon=14))
    assert ModelVersion.objects.filter(kind="price", status="champion").count() == 1
    assert second.status_reason
