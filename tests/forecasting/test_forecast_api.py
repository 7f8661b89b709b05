"""The staff forecast API: a product's forecast and the what-if."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from forecasting.models import ForecastPoint
from tests.factories import ProductFactory
from tests.forecasting.serving_support import serve_forecast, serve_summary

pytestmark = pytest.mark.django_db


def forecast_url(sku):
    return f"/api/v1/products/{sku}/forecast/"


def what_if_url(sku):
    return f"/api/v1/products/{sku}/what-if/"


def test_forecast_has_demand_price_summary_and_stock(staff_client):
    today = timezone.localdate()
    product = ProductFactory(sku="OJ", stock=3, lead_time_days=2, service_level="0.5")
    serve_forecast(product, [1.0, 2.0], spread=1.0)
    serve_forecast(product, [2.5, 2.5], kind=ForecastPoint.Kind.PRICE)
    serve_summary(
        product,
        elasticity=-1.8,
        level="category",
        explanation="A promotion lifts demand.",
        breakdown={"base": 2.0, "promotion": 1.0},
    )

    body = staff_client.get(forecast_url("OJ")).json()

    assert body["sku"] == "OJ"
    assert body["demand"]["frequency"] == "D"
    assert body["demand"]["points"][1] == {
        "date": (today + timedelta(days=1)).isoformat(),
        "p10": 1.0,
        "p50": 2.0,
        "p90": 3.0,
    }
    assert [p["p50"] for p in body["price"]["points"]] == [2.5, 2.5]
    assert body["summary"]["explanation"] == "A promotion lifts demand."
    assert body["summary"]["breakdown"] == {"base": 2.0, "promotion": 1.0}
    assert body["summary"]["elasticity_level"] == "category"
    stock = body["stock"]
    assert (stock["on_hand"], stock["lead_time_days"], stock["reorder_point"]) == (
        3,
        2,
        3.0,
    )
    assert [p["on_hand_p50"] for p in stock["points"]] == [2.0, 0.0]
    assert stock["stockout_p50"] == (today + timedelta(days=1)).isoformat()
    assert stock["reorder_now"] and stock["runs_out_before_delivery"]


def test_a_product_without_forecasts_has_null_parts(staff_client):
    ProductFactory(sku="NEW")
    body = staff_client.get(forecast_url("NEW")).json()
    assert [body[k] for k in ("demand", "price", "summary", "stock")] == [None] * 4


def test_unknown_sku_is_404_and_customers_are_refused(staff_client, customer_client):
    ProductFactory(sku="OJ")
    assert staff_client.get(forecast_url("NOPE")).status_code == 404
    assert customer_client.get(forecast_url("OJ")).status_code == 403
    assert customer_client.get(what_if_url("OJ"), {"price": 1}).status_code == 403


def test_what_if_answers_units_revenue_and_margin(staff_client):
    product = ProductFactory(sku="OJ", price=Decimal("4.00"), cost=Decimal("1.00"))
    serve_forecast(product, [2.0] * 10)
    serve_summary(product, elasticity=-1.0, level="product")

    response = staff_client.get(what_if_url("OJ"), {"price": "2.00", "days": 5})

    assert response.status_code == 200
    body = response.json()
    assert body["units"] == pytest.approx(20.0)  # 10 units × (2 / 4) ** -1
    assert body["units_at_planned_price"] == pytest.approx(10.0)
    assert (body["revenue"], body["margin"]) == ("40.00", "20.00")
    assert (body["elasticity_level"], body["days"]) == ("product", 5)
    assert (body["unit_cost"], body["cost_source"]) == ("1.00", "product")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"days": 5}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "-1"}, "price"),
        ({"price": "2", "days": "0"}, "days"),
        ({"price": "2", "days": "many"}, "days"),
    ],
)
def test_what_if_names_the_bad_parameter(staff_client, params, field):
    serve_forecast(ProductFactory(sku="OJ"), [1.0])
    response = staff_client.get(what_if_url("OJ"), params)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_what_if_without_forecast_is_404_saying_so(staff_client):
    ProductFactory(sku="OJ")
    response = staff_client.get(what_if_url("OJ"), {"price": "2"})
    assert response.status_code == 404
    assert "no served demand forecast" in response.json()["detail"]


def test_schema_documents_the_forecast_routes(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yaml"
    )
    schema = (tmp_path / "s.yaml").read_text()
    assert "/api/v1/products/{sku}/forecast/" in schema
    assert "/api/v1/products/{sku}/what-if/" in schema
