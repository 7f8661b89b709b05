"""Served forecasts as readers see them: active batch only, stock advice, what-if."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from forecasting.models import ForecastPoint
from forecasting.selectors import (
    demand_forecast,
    elasticity_for,
    forecast_summary,
    price_forecast,
    reorder_candidates,
    stock_projection,
    upcoming_stockouts,
    what_if,
)
from forecasting.services import purchase_order_create
from mlops.models import ModelKind, ServedBatch
from tests.factories import CategoryFactory, ProductFactory, SalesRecordFactory
from tests.forecasting.serving_support import (
    serve_forecast,
    serve_summary,
    served_batch,
)

pytestmark = pytest.mark.django_db


def test_readers_see_only_the_active_batch_of_each_kind():
    product = ProductFactory()
    serve_forecast(product, [1.0, 2.0])
    building = served_batch(ModelKind.DEMAND, state=ServedBatch.State.BUILDING)
    serve_forecast(product, [9.0, 9.0, 9.0], batch=building)
    serve_forecast(product, [5.0], kind=ForecastPoint.Kind.PRICE, spread=1.0)

    demand = demand_forecast(product)
    price = price_forecast(product)

    assert demand.p50 == [1.0, 2.0] and demand.frequency == "D"
    assert demand.dates == [timezone.localdate() + timedelta(days=i) for i in (0, 1)]
    assert (price.p10, price.p50, price.p90) == ([4.0], [5.0], [6.0])
    assert demand_forecast(ProductFactory()) is None


def test_summary_comes_from_the_active_demand_batch():
    product = ProductFactory()
    assert forecast_summary(product) is None
    summary = serve_summary(product, elasticity=-1.5, level="product")
    assert forecast_summary(product) == summary


def test_stock_projection_uses_inherited_lead_time_and_open_orders(settings):
    settings.FORECAST_REVIEW_DAYS = 2
    parent = CategoryFactory(default_lead_time_days=4, default_service_level="0.5")
    category = CategoryFactory(parent=parent)
    product = ProductFactory(category=category, stock=10)
    serve_forecast(product, [2.0] * 10)
    today = timezone.localdate()
    purchase_order_create(
        product=product, quantity=6, expected_on=today + timedelta(days=2)
    )

    projection = stock_projection(product)

    # 10 → 8, 6, then +6: 10, 8, 6, 4, 2, 0 on day 7.
    assert projection.stockout_p50 == today + timedelta(days=7)
    assert projection.reorder_point == pytest.approx(8.0)  # 4 days × 2
    assert projection.suggested_quantity == 0  # (4 + 2) × 2 = 12 <= 10 + 6
    assert not projection.reorder_now  # 10 + 6 > 8


def test_no_projection_without_forecast_or_stock_tracking():
    assert stock_projection(ProductFactory()) is None
    untracked = ProductFactory(stock_tracked=False)
    serve_forecast(untracked, [1.0])
    assert stock_projection(untracked) is None


def test_reorder_candidates_put_those_running_out_before_delivery_first():
    urgent = ProductFactory(sku="B", stock=1, lead_time_days=5)
    later = ProductFactory(sku="A", stock=4, lead_time_days=2, service_level="0.99")
    fine = ProductFactory(sku="C", stock=500, lead_time_days=5)
    inactive = ProductFactory(stock=0, is_active=False)
    for product in (urgent, fine, inactive):
        serve_forecast(product, [1.0] * 10)
    # Safety stock: reorder point 2 + 2.33 × (2 / 2.563) × √2 = 4.6 >= 4 on hand,
    # though the P50 path lasts until day 3, after a delivery in 2 days.
    serve_forecast(later, [1.0] * 10, spread=1.0)

    candidates = reorder_candidates()

    assert [a.product for a in candidates] == [urgent, later]
    assert candidates[0].projection.runs_out_before_delivery
    assert not candidates[1].projection.runs_out_before_delivery


def test_upcoming_stockouts_within_the_days_asked_for():
    soon = ProductFactory(stock=3)
    late = ProductFactory(stock=20)
    serve_forecast(soon, [1.0] * 28)
    serve_forecast(late, [1.0] * 28)

    assert [a.product for a in upcoming_stockouts(days=10)] == [soon]
    assert [a.product for a in upcoming_stockouts(days=28)] == [soon, late]


def test_bulk_advice_takes_a_fixed_number_of_queries(django_assert_max_num_queries):
    for _ in range(6):
        serve_forecast(ProductFactory(stock=2), [1.0] * 7)

    with django_assert_max_num_queries(5):
        assert len(upcoming_stockouts()) == 6


def test_what_if_scales_planned_units_by_the_elasticity():
    product = ProductFactory(price=Decimal("10.00"), cost=Decimal("4.00"))
    serve_forecast(product, [2.0] * 7 + [3.0] * 7)
    serve_summary(product, elasticity=-2.0, level="product")
    today = timezone.localdate()
    SalesRecordFactory(
        product=product,
        period_start=today + timedelta(days=1),
        units=None,
        price=Decimal("5.00"),
    )

    result = what_if(product, Decimal("5.00"), 3)

    # Day 0 at the current 10: 2 × (5/10)^-2 = 8; day 1 planned at 5: 2; day 2: 8.
    assert result.units == pytest.approx(18.0)
    assert result.units_at_planned_price == pytest.approx(6.0)
    assert result.revenue == Decimal("90.00") and result.margin == Decimal("18.00")
    assert (result.elasticity, result.elasticity_level) == (-2.0, "product")
    assert result.days_forecast == 3


def test_what_if_beyond_the_horizon_says_how_many_days_are_forecast():
    product = ProductFactory(cost=None)
    serve_forecast(product, [1.0] * 3)
    result = what_if(product, product.price, 10)
    assert result.days_forecast == 3 and result.units == pytest.approx(3.0)
    assert result.margin is None and result.elasticity_level == "none"
    assert (result.unit_cost, result.cost_source) == (None, "none")


def test_what_if_margin_uses_imported_unit_costs_before_the_products():
    product = ProductFactory(price=Decimal("10.00"), cost=Decimal("4.00"))
    serve_forecast(product, [2.0] * 7)
    today = timezone.localdate()
    assert what_if(product, Decimal("10.00"), 3).cost_source == "product"
    SalesRecordFactory(
        product=product, period_start=today - timedelta(days=1), cost=Decimal("5.00")
    )
    SalesRecordFactory(
        product=product,
        period_start=today + timedelta(days=2),
        units=None,
        price=Decimal("10.00"),
        cost=Decimal("8.00"),
    )

    result = what_if(product, Decimal("10.00"), 3)

    # 2 units a day: days 0 and 1 at the latest imported cost 5, day 2 at its own 8.
    assert result.revenue == Decimal("60.00") and result.margin == Decimal("24.00")
    assert result.unit_cost == Decimal("6.00") and result.cost_source == "import"


def test_elasticity_falls_back_to_the_category_then_the_shop():
    category = CategoryFactory()
    product, sibling = (
        ProductFactory(category=category),
        ProductFactory(category=category),
    )
    stranger = ProductFactory()
    serve_summary(sibling, elasticity=-1.0, level="product")
    serve_summary(ProductFactory(), elasticity=-3.0, level="product")

    assert elasticity_for(product) == (-1.0, "category")
    assert elasticity_for(stranger) == (-2.0, "shop")
