"""Staff forecast pages: per product (charts, facts, what-if) and upcoming stock-outs."""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from forecasting import selectors
from forecasting.models import ForecastPoint, PurchaseOrder
from tests.admin_support import count_queries
from tests.factories import ProductFactory, SalesRecordFactory
from tests.forecasting.serving_support import serve_forecast, serve_summary

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
STOCKOUTS = reverse("forecasting:stockouts")


def page_url(product) -> str:
    return reverse("forecasting:product", args=[product.sku])


def forecast_product(*, stock=30, history_days=21, **product_fields):
    """Return a product with a daily history, served demand and price forecasts, a
    summary and an open purchase order: demand 4 a day (P10 2, P90 6) for 14 days."""
    product = ProductFactory(stock=stock, lead_time_days=3, **product_fields)
    today = timezone.localdate()
    for i in range(1, history_days + 1):
        SalesRecordFactory(
            product=product,
            period_start=today - timedelta(days=i),
            units=Decimal(0 if i == 5 else 3 + i % 3),
            stockout=i == 5,
        )
    serve_forecast(product, [4.0] * 14, spread=2.0)
    serve_forecast(product, [19.5] * 14, kind=ForecastPoint.Kind.PRICE, spread=0.5)
    serve_summary(
        product,
        elasticity=-1.8,
        level="product",
        horizon_units_p10=28.0,
        horizon_units_p50=56.0,
        horizon_units_p90=84.0,
        explanation="Demand rises 10% over the next two weeks, mostly from a promotion.",
        breakdown={"base": 50.0, "promotion": 7.5, "price": -1.5},
    )
    PurchaseOrder.objects.create(
        product=product,
        quantity=40,
        ordered_on=today,
        expected_on=today + timedelta(days=10),
        supplier_reference="SUP-77",
    )
    return product


def charts(response) -> list[ET.Element]:
    """Return every SVG chart of a page, parsed (so each is well-formed XML)."""
    html = response.content.decode()
    found = re.findall(r'<svg [^>]*class="forecast-chart".*?</svg>', html, re.S)
    return [ET.fromstring(svg) for svg in found]


def chart_text(chart: ET.Element) -> str:
    return " ".join(t.text or "" for t in chart.iter(f"{SVG}text"))


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    product = ProductFactory()
    for url in (page_url(product), STOCKOUTS):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        assert "next=" in response["Location"]


def test_customers_are_refused(client, customer):
    product = ProductFactory()
    client.force_login(customer)
    assert client.get(page_url(product)).status_code == 403
    assert client.get(STOCKOUTS).status_code == 403


def test_unknown_product_is_not_found(client, staff):
    client.force_login(staff)
    url = reverse("forecasting:product", args=["NO-SUCH-SKU"])
    assert client.get(url).status_code == 404


def test_product_page_shows_charts_explanation_and_stock_facts(
    client, staff, django_assert_max_num_queries
):
    product = forecast_product()
    client.force_login(staff)
    client.get(page_url(product))  # warm per-process caches

    with django_assert_max_num_queries(25):
        response = client.get(page_url(product))

    assert response.status_code == 200
    html = response.content.decode()
    demand, stock, price = charts(response)
    assert demand.find(f"{SVG}title").text == f"Demand of {product.sku}"
    assert "Stock-out (censored demand)" in chart_text(demand)
    assert len([e for e in demand.iter() if e.get("class") == "chart-band"]) == 1
    assert price.find(f"{SVG}title").text == f"Price of {product.sku}"
    projection = selectors.stock_projection(product)
    assert f"Reorder point: {projection.reorder_point:.4g}" in chart_text(stock)
    assert f"Stock-out (P90 demand): {projection.stockout_p90}" in chart_text(stock)
    assert "Delivery of 40" in chart_text(stock)
    assert "Demand rises 10% over the next two weeks" in html
    assert re.search(r"Promotion</th><td class=\"num\">\+7.5", html)
    assert re.search(r"Price</th><td class=\"num\">-1.5", html)
    assert "<strong>-1.80</strong> (estimated for this product)" in html
    assert f"<dd>{projection.stockout_p50.isoformat()}</dd>" in html
    assert f"<dd>{projection.suggested_quantity} units</dd>" in html
    assert "SUP-77" in html
    assert html.count("<details") == 3  # a data table per chart
    assert "No forecast is served" not in html


def test_chart_data_tables_hold_history_stockouts_and_quantiles(client, staff):
    product = forecast_product(history_days=6)  # out of stock 5 days ago
    client.force_login(staff)

    display = client.get(page_url(product)).context["display"]

    today = timezone.localdate()
    demand = display.demand_chart
    assert demand.columns == [
        "Period",
        "Actual",
        "Stock-out",
        "P10",
        "P50 (median)",
        "P90",
    ]
    assert demand.rows[0][0] == (today - timedelta(days=6)).isoformat()
    assert (
        demand.rows[1]
        == [(today - timedelta(days=5)).isoformat(), "0.0", "yes"] + [""] * 3
    )
    assert demand.rows[6] == [today.isoformat(), "", "", "2.0", "4.0", "6.0"]
    assert len(demand.rows) == 6 + 14
    price = display.price_chart
    assert price.columns == ["Period", "Actual", "P10", "P50 (median)", "P90"]
    assert price.rows[6] == [today.isoformat(), "", "19.00", "19.50", "20.00"]


def test_history_is_limited_to_three_horizons(client, staff):
    product = forecast_product(history_days=60)
    client.force_login(staff)

    display = client.get(page_url(product)).context["display"]

    assert len(display.demand_chart.rows) == 3 * 14 + 14


def test_product_without_forecast_says_so(client, staff):
    product = ProductFactory(stock=5)
    SalesRecordFactory(product=product, units=Decimal("2"))
    client.force_login(staff)

    response = client.get(page_url(product), {"price": "9.99", "days": "7"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="no-forecast"' in html
    assert "No demand forecast is served for this product" in html
    assert "nothing to compute" in html
    demand, price = charts(response)
    assert "History (actual)" in chart_text(demand)
    assert response.context["display"].stock_chart is None


def test_what_if_shows_units_revenue_and_margin(client, staff):
    product = forecast_product(price=Decimal("20.00"), cost=Decimal("8.00"))
    client.force_login(staff)

    response = client.get(page_url(product), {"price": "18.00", "days": "7"})

    result = selectors.what_if(product, Decimal("18.00"), 7)
    html = response.content.decode()
    assert response.context["what_if"] == result
    assert result.units > result.units_at_planned_price  # a cut sells more (e < 0)
    assert f"<dd>{result.revenue} EUR</dd>" in html
    assert f"<dd>{result.margin} EUR</dd>" in html
    assert f"{result.units:.1f} (at the planned price: 28.0)" in html


def test_what_if_rejects_a_negative_price(client, staff):
    product = forecast_product()
    client.force_login(staff)

    response = client.get(page_url(product), {"price": "-1", "days": "7"})

    assert response.status_code == 200
    assert response.context["what_if"] is None
    assert response.context["form"].errors["price"]


def test_hostile_product_text_is_escaped(client, staff):
    product = forecast_product(sku="A/<b>&1", name="<script>alert(1)</script>")
    client.force_login(staff)

    response = client.get(page_url(product))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<b>&1" not in html
    titles = [chart.find(f"{SVG}title").text for chart in charts(response)]
    assert titles[0] == "Demand of A/<b>&1"


def test_stockouts_list_products_running_out_with_links(
    client, staff, django_assert_max_num_queries
):
    running_out = forecast_product(stock=10)
    forecast_product(stock=10_000)
    client.force_login(staff)
    client.get(STOCKOUTS)

    with django_assert_max_num_queries(15):
        response = client.get(STOCKOUTS)

    html = response.content.decode()
    assert [a.product for a in response.context["advice"]] == [running_out]
    assert f'href="{page_url(running_out)}"' in html
    assert "Runs out before delivery" in html  # 10 units, 4 a day, 3 days' lead


def test_stockouts_queries_do_not_grow_with_products(client, staff):
    forecast_product(stock=10)
    client.force_login(staff)
    client.get(STOCKOUTS)
    with_one, _ = count_queries(client, STOCKOUTS)
    for _ in range(4):
        forecast_product(stock=10)

    with_five, response = count_queries(client, STOCKOUTS)

    assert len(response.context["advice"]) == 5
    assert with_five == with_one


def test_stockouts_window_is_chosen_and_bounded(client, staff):
    product = forecast_product(stock=50)  # 6 a day at P90: out on day 9
    client.force_login(staff)

    within_week = client.get(STOCKOUTS, {"days": "7"})
    within_month = client.get(STOCKOUTS, {"days": "30"})
    nonsense = client.get(STOCKOUTS, {"days": "-3"})

    assert within_week.context["advice"] == []
    assert "No product runs out within 7 days." in within_week.content.decode()
    assert [a.product for a in within_month.context["advice"]] == [product]
    assert nonsense.context["days"] == 28 and nonsense.context["form"].errors


def test_stockouts_without_forecast_says_so(client, staff):
    client.force_login(staff)
    response = client.get(STOCKOUTS)
    assert "No demand forecast is served yet" in response.content.decode()


def test_breakdown_keeps_numbers_only_base_first(client, staff):
    product = ProductFactory()
    serve_forecast(product, [1.0] * 7)
    serve_summary(
        product, breakdown={"trend": -0.5, "note": "x", "base": 7, "season": 2}
    )
    client.force_login(staff)

    display = client.get(page_url(product)).context["display"]

    assert display.breakdown == [
        ("Base demand", "7.0"),
        ("Season", "+2.0"),
        ("Trend", "-0.5"),
    ]
    assert display.elasticity_effect is None


def test_history_fills_zero_days_up_to_the_forecast_and_prices_hold(client, staff):
    from catalog.models import PriceChange
    from forecasting.display import recent_sales
    from tests.factories import PriceChangeFactory

    product = ProductFactory(stock=30)
    today = timezone.localdate()
    for ago in (30, 12):
        SalesRecordFactory(
            product=product, period_start=today - timedelta(days=ago), units=2
        )
    moment = timezone.now()
    PriceChangeFactory(
        product=product, price=Decimal("10.00"), effective_at=moment - timedelta(40)
    )
    PriceChangeFactory(
        product=product,
        price=Decimal("8.00"),
        source=PriceChange.Source.PROMOTION,
        effective_at=moment - timedelta(20),
    )
    PriceChangeFactory(  # a competitor's price is not the shop's
        product=product,
        price=Decimal("1.00"),
        source=PriceChange.Source.COMPETITOR,
        effective_at=moment - timedelta(15),
    )

    history = recent_sales(product, "D", today, 84)

    assert [p.period_start for p in history] == [
        today - timedelta(days=ago) for ago in range(30, 0, -1)
    ]  # from the first sale to the day before the forecast, every day
    assert [p.units for p in history if p.units] == [2.0, 2.0]
    assert sum(1 for p in history if p.units == 0) == 28
    assert history[0].price == 10.0 and history[-1].price == 8.0
    assert {p.price for p in history} == {10.0, 8.0}


def test_a_sparse_product_is_charted_as_weekly_totals(client, staff):
    product = ProductFactory(stock=30)
    today = timezone.localdate()
    for ago in (80, 40, 3):
        SalesRecordFactory(
            product=product, period_start=today - timedelta(days=ago), units=2
        )
    serve_forecast(product, [0.1] * 14, spread=0.05)
    client.force_login(staff)

    display = client.get(page_url(product)).context["display"]

    chart = display.demand_chart
    assert chart.unit == "units per week"
    assert "Weekly totals: the product sold on 2 of 42 days" in chart.caption
    history_rows = [row for row in chart.rows if row[1] != ""]
    assert len(history_rows) == 6  # 42 days in 6 weeks, zero weeks included
    assert history_rows[-1][0] == (today - timedelta(days=7)).isoformat()
    assert [row[1] for row in history_rows].count("0.0") == 4
    forecast_rows = [row for row in chart.rows if row[1] == ""]
    assert [row[3] for row in forecast_rows] == ["0.7", "0.7"]  # 7 × 0.1 a week


def test_price_page_says_the_last_price_is_best_and_shows_the_plan(client, staff):
    """Where the last price won the price run, no price forecast is drawn."""
    from mlops.models import ModelKind, ServedBatch

    product = forecast_product()
    batch = ServedBatch.objects.get(kind=ModelKind.PRICE, state="active")
    batch.model_version.algorithm = "last-price"
    batch.model_version.metrics = {"mase": 0.41}
    batch.model_version.baselines = {"price-forecast": {"mase": 0.57}}
    batch.model_version.save()
    planned = timezone.localdate() + timedelta(days=3)
    SalesRecordFactory(
        product=product, period_start=planned, units=None, price=Decimal("17.49")
    )
    client.force_login(staff)

    response = client.get(page_url(product))

    display = response.context["display"]
    assert display.price_note.startswith("The last price is the best forecast here")
    assert "MASE 0.410 against price-forecast 0.570" in display.price_note
    assert display.price_plan == [(planned, Decimal("17.49"))]
    assert all(row[-1] == "" for row in display.price_chart.rows)  # nothing drawn
    html = response.content.decode()
    assert "The last price is the best forecast here" in html
    assert "17.49" in html


def test_price_forecast_is_drawn_where_the_price_model_serves(client, staff):
    product = forecast_product()
    client.force_login(staff)

    display = client.get(page_url(product)).context["display"]

    assert display.price_note == ""
    assert display.price_chart.rows[-1][-1] != ""
