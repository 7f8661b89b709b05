"""Purchase orders, reorder advice and upcoming stock-outs in the admin."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from forecasting.models import PurchaseOrder, SalesRecord
from forecasting.services import purchase_order_create
from tests.admin_support import assert_queries_do_not_grow, form_data
from tests.factories import ProductFactory, StaffFactory
from tests.forecasting.serving_support import serve_forecast

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:forecasting_purchaseorder_changelist")
REORDER = reverse("admin:forecasting_purchaseorder_reorder")
STOCKOUTS = reverse("admin:forecasting_purchaseorder_stockouts")


def open_order(product, quantity=5):
    return purchase_order_create(
        product=product,
        quantity=quantity,
        expected_on=timezone.localdate() + timedelta(days=3),
    )


def test_adding_an_order_goes_through_the_service(admin_client, admin_user):
    product = ProductFactory()
    today = timezone.localdate()
    response = admin_client.post(
        reverse("admin:forecasting_purchaseorder_add"),
        {
            "product": product.pk,
            "quantity": 12,
            "ordered_on": today.isoformat(),
            "expected_on": (today + timedelta(days=4)).isoformat(),
            "supplier_reference": "SUP-1",
            "note": "",
        },
    )
    assert response.status_code == 302
    order = PurchaseOrder.objects.get()
    assert (order.quantity, order.status, order.created_by) == (12, "open", admin_user)


def test_an_order_due_before_it_is_placed_is_refused_on_its_field(admin_client):
    today = timezone.localdate()
    response = admin_client.post(
        reverse("admin:forecasting_purchaseorder_add"),
        {
            "product": ProductFactory().pk,
            "quantity": 1,
            "ordered_on": today.isoformat(),
            "expected_on": (today - timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 200
    assert "expected_on" in response.context["adminform"].form.errors
    assert not PurchaseOrder.objects.exists()


def test_receive_and_cancel_actions(admin_client):
    product = ProductFactory(stock=1)
    received, cancelled = open_order(product, 5), open_order(product, 7)

    admin_client.post(
        CHANGELIST, {"action": "receive_selected", "_selected_action": [received.pk]}
    )
    admin_client.post(
        CHANGELIST, {"action": "cancel_selected", "_selected_action": [cancelled.pk]}
    )
    response = admin_client.post(
        CHANGELIST,
        {"action": "receive_selected", "_selected_action": [received.pk]},
        follow=True,
    )

    product.refresh_from_db()
    assert product.stock_on_hand == 6
    statuses = dict(PurchaseOrder.objects.values_list("pk", "status"))
    assert statuses == {received.pk: "received", cancelled.pk: "cancelled"}
    assert "only open orders can be received" in response.content.decode()


def test_staff_who_may_only_view_get_no_actions_and_no_order_button(client):
    viewer = StaffFactory(is_superuser=False)
    viewer.user_permissions.add(Permission.objects.get(codename="view_purchaseorder"))
    client.force_login(viewer)
    order = open_order(ProductFactory(stock=1))
    serve_forecast(order.product, [1.0] * 10)

    response = client.post(
        CHANGELIST, {"action": "receive_selected", "_selected_action": [order.pk]}
    )
    page = client.get(REORDER)

    order.refresh_from_db()
    assert order.status == "open" and response.status_code == 200
    assert (
        page.status_code == 200
        and "Create purchase orders" not in page.content.decode()
    )
    assert client.post(REORDER, {"product": [order.product.pk]}).status_code == 403


def test_reorder_list_flags_and_orders_the_suggested_quantities(admin_client, settings):
    settings.FORECAST_REVIEW_DAYS = 7
    urgent = ProductFactory(
        sku="URGENT", stock=1, lead_time_days=5, service_level="0.5"
    )
    fine = ProductFactory(sku="FINE", stock=900, lead_time_days=5)
    for product in (urgent, fine):
        serve_forecast(product, [2.0] * 14)

    page = admin_client.get(REORDER)

    rows = page.context["rows"]
    assert [row["product"].sku for row in rows] == ["URGENT"]
    assert "Runs out before a new order could arrive" in page.content.decode()
    assert rows[0]["suggested_quantity"] == 23  # (5 + 7) days × 2 − 1 on hand

    response = admin_client.post(REORDER, form_data(page, "reorder-form"))

    assert response.status_code == 302
    order = PurchaseOrder.objects.get()
    assert (order.product, order.quantity) == (urgent, 23)
    assert order.expected_on == timezone.localdate() + timedelta(days=5)


def test_upcoming_stockouts_list_takes_the_days_asked_for(admin_client):
    soon, late = (
        ProductFactory(sku="SOON", stock=3),
        ProductFactory(sku="LATE", stock=20),
    )
    for product in (soon, late):
        serve_forecast(product, [1.0] * 28)

    within_ten = admin_client.get(STOCKOUTS, {"days": 10}).context["rows"]
    default = admin_client.get(STOCKOUTS).context["rows"]

    assert [row["product"].sku for row in within_ten] == ["SOON"]
    assert [row["product"].sku for row in default] == ["SOON", "LATE"]


def add_products_running_out(n):
    for _ in range(n):
        serve_forecast(ProductFactory(stock=1), [1.0] * 7)


@pytest.mark.parametrize("url", [REORDER, STOCKOUTS])
def test_advice_pages_take_the_same_queries_for_many_products(admin_client, url):
    response = assert_queries_do_not_grow(admin_client, url, add_products_running_out)
    assert len(response.context["rows"]) == 30


def test_advice_pages_query_count_is_bounded(
    admin_client, django_assert_max_num_queries
):
    add_products_running_out(40)
    admin_client.get(REORDER)
    with django_assert_max_num_queries(12):
        assert admin_client.get(REORDER).status_code == 200


def test_changelist_links_to_the_advice_pages(admin_client):
    content = admin_client.get(CHANGELIST).content.decode()
    assert REORDER in content and STOCKOUTS in content


def test_planned_prices_must_be_for_a_future_date(admin_client):
    product = ProductFactory()
    today = timezone.localdate()
    url = reverse("admin:forecasting_salesrecord_add")
    plan = {
        "product": product.pk,
        "frequency": "D",
        "units": "",
        "price": "9.99",
        "promo": "1",
    }

    past = admin_client.post(url, {**plan, "period_start": today.isoformat()})
    future = admin_client.post(
        url, {**plan, "period_start": (today + timedelta(days=3)).isoformat()}
    )

    assert "period_start" in past.context["adminform"].form.errors
    assert future.status_code == 302
    record = SalesRecord.objects.get()
    assert record.is_planned and record.promo == 1.0 and record.revenue is None


def test_hand_entered_sales_get_their_revenue(admin_client):
    product = ProductFactory()
    response = admin_client.post(
        reverse("admin:forecasting_salesrecord_add"),
        {
            "product": product.pk,
            "frequency": "D",
            "period_start": timezone.localdate().isoformat(),
            "units": "3",
            "price": "2.50",
            "promo": "0",
        },
    )
    assert response.status_code == 302
    assert str(SalesRecord.objects.get().revenue) == "7.5000"


def test_ordering_nothing_goes_back_but_never_off_site(admin_client):
    stay = admin_client.post(REORDER, {"next": f"{STOCKOUTS}?days=7"})
    away = admin_client.post(REORDER, {"next": "https://evil.example/"})
    assert stay.url == f"{STOCKOUTS}?days=7"
    assert away.url == REORDER
    assert not PurchaseOrder.objects.exists()
