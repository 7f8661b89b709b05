"""The product admin's Forecast fieldset: charts, explanation, link to the staff page."""

import re
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.admin_support import count_queries
from tests.factories import ProductFactory
from tests.forecasting.test_views import forecast_product

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
CHANGELIST = reverse("admin:catalog_product_changelist")


def change_url(product) -> str:
    return reverse("admin:catalog_product_change", args=[product.pk])


def fieldset(html: str, name: str) -> str:
    """Return the HTML of the admin fieldset headed `name`."""
    match = re.search(
        rf"<fieldset[^>]*>\s*<h2[^>]*>{name}</h2>.*?</fieldset>", html, re.S
    )
    assert match, f"no {name} fieldset"
    return match.group(0)


def chart_titles(html: str) -> list[str]:
    found = re.findall(r'<svg [^>]*class="forecast-chart".*?</svg>', html, re.S)
    return [ET.fromstring(svg).find(f"{SVG}title").text for svg in found]


def test_change_page_shows_demand_price_and_stock_charts(admin_client):
    product = forecast_product()

    response = admin_client.get(change_url(product))

    html = response.content.decode()
    forecast = fieldset(html, "Forecast")
    assert chart_titles(forecast) == [
        f"Demand of {product.sku}",
        f"Price of {product.sku}",
        f"Projected stock of {product.sku}",
    ]
    assert "Demand rises 10% over the next two weeks" in forecast
    assert "Reorder point: " in forecast
    assert forecast.count("<details") == 3  # each chart's data table
    staff_page = reverse("forecasting:product", args=[product.sku])
    assert f'href="{staff_page}"' in forecast
    assert f'<li><a href="{staff_page}">Forecast</a></li>' in html  # object tools


def test_change_page_without_forecast_says_so(admin_client):
    tracked, untracked = ProductFactory(), ProductFactory(stock_tracked=False)

    tracked_html = admin_client.get(change_url(tracked)).content.decode()
    untracked_html = admin_client.get(change_url(untracked)).content.decode()

    forecast = fieldset(tracked_html, "Forecast")
    assert "No data to chart yet." in forecast
    assert "No projection without a served demand forecast." in forecast
    assert "Not tracked." in fieldset(untracked_html, "Forecast")


def test_add_page_has_no_forecast(admin_client):
    response = admin_client.get(reverse("admin:catalog_product_add"))

    assert response.status_code == 200
    assert "forecast-chart" not in response.content.decode()


def test_changelist_reads_no_forecast(admin_client):
    forecast_product()
    admin_client.get(CHANGELIST)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert not [q for q in queries if "forecasting_" in q["sql"]]


def test_change_page_queries_do_not_grow_with_history_or_forecast(admin_client):
    short = forecast_product(history_days=3)
    long = forecast_product(history_days=60)
    admin_client.get(change_url(short))

    with_short, _ = count_queries(admin_client, change_url(short))
    with_long, response = count_queries(admin_client, change_url(long))

    demand = fieldset(response.content.decode(), "Forecast").split("<figure")[1]
    assert demand.count("<tr>") == 1 + 3 * 14 + 14  # header, history, forecast
    assert with_long == with_short
