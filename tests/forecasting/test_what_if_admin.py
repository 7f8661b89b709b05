"""The price what-if in the admin: the API's answer, behind the admin login."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from forecasting import selectors
from tests.factories import ProductFactory, SalesRecordFactory, StaffFactory
from tests.forecasting.serving_support import serve_forecast, serve_summary

pytestmark = pytest.mark.django_db

URL = reverse("admin:forecasting_salesrecord_what_if")


def forecast_product(**fields):
    product = ProductFactory(sku="OJ/1L", price=Decimal("4.00"), **fields)
    serve_forecast(product, [2.0] * 10)
    serve_summary(product, elasticity=-1.0, level="product")
    return product


def test_the_form_comes_prefilled_from_the_product_page(admin_client):
    product = forecast_product(cost=Decimal("1.00"))
    change = reverse("admin:catalog_product_change", args=[product.pk])

    page = admin_client.get(change).content.decode()
    assert f'{URL}?sku=OJ%2F1L">Price what-if</a>' in page

    response = admin_client.get(URL, {"sku": "OJ/1L"})
    assert response.status_code == 200
    form = response.context["form"]
    assert not form.is_bound and form.initial["price"] == Decimal("4.00")
    assert 'id="what-if-form"' in response.content.decode()
    assert response.context["what_if"] is None
    assert 'href="/admin/"' in response.content.decode()  # breadcrumbs


def test_staff_get_units_revenue_and_margin_as_the_api_does(admin_client):
    product = forecast_product(cost=Decimal("1.00"))
    SalesRecordFactory(
        product=product,
        period_start=timezone.localdate() - timedelta(days=1),
        cost=Decimal("1.50"),
    )

    response = admin_client.get(URL, {"sku": "OJ/1L", "price": "2.00", "days": 5})

    result = response.context["what_if"]
    assert result == selectors.what_if(product, Decimal("2.00"), 5)
    assert result.units == pytest.approx(20.0) and result.margin == Decimal("10.00")
    html = response.content.decode()
    assert "<dd>40.00 EUR</dd>" in html and "<dd>10.00 EUR</dd>" in html
    assert "1.50 EUR (from imported sales records)" in html


def test_a_product_without_forecast_says_so(admin_client):
    ProductFactory(sku="NEW")
    response = admin_client.get(URL, {"sku": "NEW", "price": "2"})
    assert response.status_code == 200 and response.context["what_if"] is None
    assert "No demand forecast is served for NEW yet" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"sku": "OJ/1L", "price": "-1"}, "price", "greater than or equal to"),
        ({"sku": "OJ/1L", "price": "abc"}, "price", "Enter a number"),
        ({"sku": "OJ/1L", "price": "2", "days": "0"}, "days", "greater than or"),
        ({"sku": "NOPE", "price": "2"}, "sku", "No product has the SKU 'NOPE'"),
    ],
)
def test_bad_input_gives_a_form_error(admin_client, params, field, message):
    forecast_product()

    response = admin_client.get(URL, params)

    assert response.status_code == 200 and response.context["what_if"] is None
    errors = response.context["form"].errors
    assert list(errors) == [field] and message in errors[field][0]
    assert 'class="errorlist' in response.content.decode()


def test_customers_and_staff_without_catalog_access_are_refused(client, customer):
    forecast_product()
    client.force_login(customer)
    response = client.get(URL, {"sku": "OJ/1L", "price": "2"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

    client.force_login(StaffFactory(is_superuser=False))
    assert client.get(URL, {"sku": "OJ/1L", "price": "2"}).status_code == 403


def test_the_sales_history_list_links_to_the_what_if(admin_client):
    response = admin_client.get(reverse("admin:forecasting_salesrecord_changelist"))
    assert f'href="{URL}">Price what-if</a>' in response.content.decode()
