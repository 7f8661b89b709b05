"""Staff writes to models, categories and stock record who made them, and need the
right permission.

Where each is recorded: registry promotions and rollbacks in `RegistryEvent` (tested
in tests/mlops/test_admin.py); category decisions in `CategoryDecision`; stock in
the `StockMovement` ledger (`created_by`); prices in `PriceChange` (`created_by`);
erasures in `ErasedCustomer` (`erased_by`); other admin edits in Django's
`LogEntry`.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import CategoryDecision, PriceChange, StockMovement
from forecasting.models import PurchaseOrder
from recommender.models import ErasedCustomer
from tests.admin_support import form_data
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    ProductFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


def clerk_with(*codenames):
    """Return a staff user (not superuser) with just these permissions."""
    clerk = StaffFactory(is_superuser=False)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(clerk).objects.get(pk=clerk.pk)


def purchase_order(product, **fields) -> PurchaseOrder:
    today = date.today()
    return PurchaseOrder.objects.create(
        product=product,
        quantity=12,
        ordered_on=today,
        expected_on=today + timedelta(days=7),
        **fields,
    )


def run_action(client, action: str, order: PurchaseOrder):
    url = reverse("admin:forecasting_purchaseorder_changelist")
    return client.post(url, {"action": action, "_selected_action": [order.pk]})


def test_category_override_through_the_api_records_the_operator(staff):
    product = ProductFactory()
    category = CategoryFactory()
    client = APIClient()
    client.force_authenticate(staff)

    url = reverse("api-product-category-override", kwargs={"sku": product.sku})
    response = client.post(url, {"category": category.pk}, format="json")

    assert response.status_code == 200
    decision = CategoryDecision.objects.get(product=product)
    assert (decision.user, decision.category) == (staff, category)


def test_erasure_through_the_api_records_who_erased(staff):
    customer = CustomerFactory()
    client = APIClient()
    client.force_authenticate(staff)

    response = client.post(reverse("api-customer-erase", kwargs={"pk": customer.pk}))

    assert response.status_code == 204
    assert ErasedCustomer.objects.get().erased_by == staff


def test_receiving_a_purchase_order_records_who_restocked(client):
    clerk = clerk_with("view_purchaseorder", "change_purchaseorder")
    client.force_login(clerk)
    order = purchase_order(ProductFactory())

    run_action(client, "receive_selected", order)

    movement = StockMovement.objects.get(product=order.product)
    assert (movement.quantity, movement.created_by) == (12, clerk)
    assert movement.reference == f"PO-{order.pk}"


def test_purchase_order_actions_need_the_change_permission(client):
    client.force_login(clerk_with("view_purchaseorder"))
    order = purchase_order(ProductFactory())

    run_action(client, "receive_selected", order)
    run_action(client, "cancel_selected", order)

    order.refresh_from_db()
    assert order.status == PurchaseOrder.Status.OPEN
    assert not StockMovement.objects.exists()


def test_cancelling_a_purchase_order_records_who_cancelled(client):
    clerk = clerk_with("view_purchaseorder", "change_purchaseorder")
    client.force_login(clerk)
    order = purchase_order(ProductFactory())

    run_action(client, "cancel_selected", order)

    order.refresh_from_db()
    assert order.status == PurchaseOrder.Status.CANCELLED
    assert LogEntry.objects.filter(object_id=str(order.pk), user=clerk).exists()


def test_stock_movement_form_needs_its_permission(client):
    product = ProductFactory()
    url = reverse("admin:catalog_product_stock_movement", args=[product.pk])
    body = {"kind": "restock", "quantity": "5", "reference": "R-1", "note": ""}

    client.force_login(clerk_with("view_product", "change_product"))
    assert client.post(url, body).status_code == 403
    client.force_login(clerk_with("change_product", "add_stockmovement"))
    assert client.post(url, body).status_code == 302
    assert StockMovement.objects.get(product=product).quantity == 5


def test_price_change_in_the_admin_records_who_and_logs_the_edit(admin_client):
    product = ProductFactory(price=Decimal("10.00"))
    url = reverse("admin:catalog_product_change", args=[product.pk])
    data = form_data(admin_client.get(url), "product_form")
    data["price"] = "12.50"

    assert admin_client.post(url, data).status_code == 302

    change = PriceChange.objects.filter(product=product).latest("id")
    assert (change.price, change.created_by.username) == (Decimal("12.50"), "admin")
    entry = LogEntry.objects.get(object_id=str(product.pk), action_flag=CHANGE)
    assert entry.user.username == "admin"


def test_the_audit_log_lists_admin_changes_to_superusers_only(client, admin_user):
    clerk = clerk_with("view_purchaseorder", "change_purchaseorder")
    client.force_login(clerk)
    order = purchase_order(ProductFactory())
    run_action(client, "cancel_selected", order)
    audit_log = reverse("admin:admin_logentry_changelist")

    assert client.get(audit_log).status_code == 403

    client.force_login(admin_user)
    page = client.get(audit_log)
    assert page.status_code == 200
    html = page.content.decode()
    assert str(clerk) in html and str(order) in html and "Changed" in html
    entry = LogEntry.objects.get(object_id=str(order.pk))
    detail = client.get(reverse("admin:admin_logentry_change", args=[entry.pk]))
    assert detail.status_code == 200 and "Cancelled." in detail.content.decode()
