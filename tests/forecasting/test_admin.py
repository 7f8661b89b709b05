"""The sales history admin: list, planned versus actual, search by SKU."""

from datetime import date

import pytest
from django.urls import reverse

from forecasting.models import SalesRecord
from tests.admin_support import assert_queries_do_not_grow
from tests.factories import ProductFactory, SalesRecordFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:forecasting_salesrecord_changelist"


def add_records(n: int) -> None:
    for i in range(n):
        SalesRecordFactory(units=None if i % 4 == 0 else 3)


@pytest.mark.postgres
def test_changelist_queries_do_not_grow_with_rows(admin_client):
    url = reverse(CHANGELIST)
    response = assert_queries_do_not_grow(admin_client, url, add_records)
    assert len(response.context["cl"].result_list) == 30


def test_add_change_and_search_pages_render(admin_client):
    record = SalesRecordFactory()
    for url, params in [
        (reverse("admin:forecasting_salesrecord_add"), {}),
        (reverse("admin:forecasting_salesrecord_change", args=[record.pk]), {}),
        (reverse(CHANGELIST), {"q": record.product.sku}),
    ]:
        assert admin_client.get(url, params).status_code == 200, url


@pytest.mark.parametrize(("planned", "units"), [("planned", None), ("actual", 3)])
def test_planned_and_actual_records_are_told_apart(admin_client, planned, units):
    product = ProductFactory()
    SalesRecordFactory(product=product, period_start=date(2026, 1, 5), units=None)
    SalesRecordFactory(product=product, period_start=date(2026, 1, 4), units=3)

    cl = admin_client.get(reverse(CHANGELIST), {"planned": planned}).context["cl"]

    assert [r.units for r in cl.result_list] == [units]


def test_records_are_found_by_sku(admin_client):
    wanted = SalesRecordFactory()
    SalesRecordFactory()

    cl = admin_client.get(reverse(CHANGELIST), {"q": wanted.product.sku}).context["cl"]

    assert list(cl.result_list) == [SalesRecord.objects.get(pk=wanted.pk)]
