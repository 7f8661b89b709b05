"""Purchase orders: created checked, received once into the stock ledger, cancelled."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog.models import StockMovement
from forecasting.models import PurchaseOrder
from forecasting.services import (
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_receive,
    purchase_orders_create_suggested,
)
from tests.factories import ProductFactory
from tests.forecasting.serving_support import serve_forecast

pytestmark = pytest.mark.django_db


def order(product, quantity=10, days=5, **kwargs):
    return purchase_order_create(
        product=product,
        quantity=quantity,
        expected_on=timezone.localdate() + timedelta(days=days),
        **kwargs,
    )


def test_receiving_restocks_once_with_the_order_as_reference(staff):
    product = ProductFactory(stock=3)
    po = order(product, user=staff)

    purchase_order_receive(purchase_order=po, user=staff)
    with pytest.raises(ValidationError, match="received"):
        purchase_order_receive(purchase_order=po, user=staff)

    product.refresh_from_db()
    assert product.stock_on_hand == 13
    movement = StockMovement.objects.get(product=product, reference=f"PO-{po.pk}")
    assert (movement.kind, movement.quantity, movement.created_by) == (
        "restock",
        10,
        staff,
    )
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.RECEIVED and po.received_at


def test_cancelled_orders_cannot_be_received():
    product = ProductFactory()
    po = order(product)
    purchase_order_cancel(purchase_order=po)

    with pytest.raises(ValidationError, match="cancelled"):
        purchase_order_receive(purchase_order=po)
    assert not StockMovement.objects.filter(product=product).exists()


@pytest.mark.parametrize(
    ("quantity", "days", "field"), [(0, 3, "quantity"), (5, -1, "expected_on")]
)
def test_bad_orders_are_refused_naming_the_field(quantity, days, field):
    with pytest.raises(ValidationError) as error:
        order(ProductFactory(), quantity=quantity, days=days)
    assert field in error.value.message_dict
    assert not PurchaseOrder.objects.exists()


def test_suggested_orders_cover_lead_time_and_review(settings):
    settings.FORECAST_REVIEW_DAYS = 7
    short = ProductFactory(stock=2, lead_time_days=3, service_level="0.5")
    enough = ProductFactory(stock=500, lead_time_days=3, service_level="0.5")
    for product in (short, enough):
        serve_forecast(product, [2.0] * 14)

    created = purchase_orders_create_suggested(product_ids=[short.pk, enough.pk])

    assert [(po.product, po.quantity) for po in created] == [(short, 18)]
    assert created[0].expected_on == timezone.localdate() + timedelta(days=3)
