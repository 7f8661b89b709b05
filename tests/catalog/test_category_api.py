"""The API of automatic categories: product detail, staff accept and override."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from catalog.models import CategoryDecision
from tests.catalog.categorisation_support import (
    image_version,
    leaf_categories,
    queued_product,
)
from tests.factories import ProductFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def leaves():
    return leaf_categories(3)


@pytest.fixture
def queued(leaves):
    return queued_product(leaves, image_version(4), sku="SHIRT-1")


def action_url(sku: str, action: str, slash: str = "") -> str:
    return f"/api/v1/products/{sku}/category/{action}{slash}"


def test_product_detail_shows_the_automatic_category(api_client, queued, leaves):
    data = api_client.get("/api/v1/products/SHIRT-1/").json()

    assert data["category"] is None
    assert data["category_source"] == "none"
    auto = data["auto_category"]
    assert (auto["id"], auto["path"], auto["status"]) == (
        leaves[0].pk,
        "Clothing > Leaf 0",
        "needs_review",
    )
    assert auto["confidence"] == pytest.approx(0.6)
    assert auto["model_version"] == 4


def test_an_unclassified_product_has_no_automatic_category(api_client):
    ProductFactory(sku="TEA-1")

    data = api_client.get("/api/v1/products/TEA-1/").json()

    assert data["auto_category"] is None
    assert data["category_source"] == "operator"


@pytest.mark.parametrize("slash", ["", "/"])
def test_staff_accept_the_suggestion(staff_client, staff, queued, leaves, slash):
    response = staff_client.post(action_url("SHIRT-1", "accept", slash))

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["category"]["id"] == leaves[0].pk
    assert data["category_source"] == "operator"
    assert data["auto_category"]["status"] == "accepted"
    decision = CategoryDecision.objects.get(action="accepted")
    assert (decision.user, decision.product) == (staff, queued)


@pytest.mark.parametrize("reference", ["id", "path"])
def test_staff_override_by_id_or_path(staff_client, queued, leaves, reference):
    chosen = leaves[2]
    value = chosen.pk if reference == "id" else chosen.path

    response = staff_client.post(
        action_url("SHIRT-1", "override"), {"category": value}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["category"]["path"] == chosen.path
    assert response.json()["auto_category"]["status"] == "overridden"
    queued.refresh_from_db()
    assert (queued.category, queued.category_source) == (chosen, "operator")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "This field is required."),
        ({"category": 987654}, "No category has id 987654."),
        ({"category": "Clothing > Hats"}, "No category has the path"),
        ({"category": ["x"]}, "Give a category id or a path"),
    ],
)
def test_override_with_a_bad_category_is_a_clear_400(
    staff_client, queued, body, message
):
    response = staff_client.post(action_url("SHIRT-1", "override"), body, format="json")

    assert response.status_code == 400
    assert message in response.json()["category"][0]
    assert not CategoryDecision.objects.exclude(action="queued").exists()


def test_accepting_without_a_suggestion_is_a_400(staff_client):
    ProductFactory(sku="TEA-1")

    response = staff_client.post(action_url("TEA-1", "accept"))

    assert response.status_code == 400
    assert "no automatic category" in response.json()["category"][0]


def test_unknown_sku_is_404(staff_client):
    assert staff_client.post(action_url("NOPE", "accept")).status_code == 404


@pytest.mark.parametrize("action", ["accept", "override"])
def test_customers_get_403_and_anonymous_401(
    api_client, customer_client, queued, action
):
    body = {"category": queued.auto_category_id}

    assert api_client.post(action_url("SHIRT-1", action), body).status_code == 401
    assert customer_client.post(action_url("SHIRT-1", action), body).status_code == 403
    assert not CategoryDecision.objects.exclude(action="queued").exists()


def test_staff_need_the_review_permission(queued):
    clerk = StaffFactory(is_superuser=False)
    client = APIClient()
    client.force_authenticate(clerk)

    assert client.post(action_url("SHIRT-1", "accept")).status_code == 403

    clerk.user_permissions.add(Permission.objects.get(codename="review_category"))
    client.force_authenticate(type(clerk).objects.get(pk=clerk.pk))
    assert client.post(action_url("SHIRT-1", "accept")).status_code == 200
