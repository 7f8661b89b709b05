"""The served-list endpoints: who may read which list, and what an entry holds."""

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

from recommender.models import RecommendationRule
from tests.factories import ProductFactory
from tests.recommender.serving_support import serve_for, serve_list

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/recommendations/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def lists(customer, other_customer):
    """Customer A's and B's lists and one product's two lists, in one batch."""
    mug = ProductFactory(sku="MUG-1", name="Mug", stock_tracked=False)
    tea, cup, pot = (ProductFactory(stock_tracked=False) for _ in range(3))
    batch = serve_for(customer, [tea, cup])
    serve_for(other_customer, [pot], batch)
    serve_list(mug, [tea, cup], "similar", batch)
    serve_list(mug, [pot], "bought_together", batch)
    return mug, tea, cup, pot


def test_a_customer_reads_their_own_list(lists, customer, other_customer):
    _, tea, cup, pot = lists

    mine = client_for(customer).get(ME)
    theirs = client_for(other_customer).get(ME)

    assert mine.status_code == 200
    assert [e["product"]["sku"] for e in mine.json()] == [tea.sku, cup.sku]
    assert [e["product"]["sku"] for e in theirs.json()] == [pot.sku]
    entry = mine.json()[0]
    assert entry["rank"] == 1 and entry["score"] == 1.0
    assert entry["reason"] == "because 1"
    assert entry["product"] == {
        "sku": tea.sku,
        "name": tea.name,
        "price": "19.99",
        "currency": "EUR",
        "category_path": tea.category.path,
        "thumbnail_url": None,
    }


def test_anonymous_callers_have_no_list_and_no_slash_redirects(api_client, lists):
    assert api_client.get(ME).status_code in (401, 403)
    assert api_client.get(ME.rstrip("/")).status_code == 301


def test_staff_read_any_customers_list(lists, customer, staff_client):
    url = f"/api/v1/customers/{customer.pk}/recommendations/"

    response = staff_client.get(url)

    assert response.status_code == 200
    assert [e["rank"] for e in response.json()] == [1, 2]
    assert (
        staff_client.get("/api/v1/customers/999999/recommendations/").status_code == 404
    )


def test_customers_cannot_read_each_others_lists(
    lists, customer, other_customer, api_client
):
    url = f"/api/v1/customers/{customer.pk}/recommendations/"
    assert client_for(other_customer).get(url).status_code == 403
    assert client_for(customer).get(url).status_code == 403
    assert api_client.get(url).status_code in (401, 403)


@pytest.mark.parametrize("kind", ["similar", "bought-together"])
def test_product_lists_are_public(lists, api_client, customer, staff, kind):
    mug, tea, cup, pot = lists
    expected = {"similar": [tea.sku, cup.sku], "bought-together": [pot.sku]}[kind]
    url = f"/api/v1/products/{mug.sku}/{kind}/"

    for client in (api_client, client_for(customer), client_for(staff)):
        response = client.get(url)
        assert response.status_code == 200
        assert [e["product"]["sku"] for e in response.json()] == expected


@pytest.mark.parametrize("kind", ["similar", "bought-together"])
def test_unknown_or_inactive_products_are_not_found(lists, api_client, staff, kind):
    mug = lists[0]
    mug.is_active = False
    mug.save()

    assert api_client.get(f"/api/v1/products/NOPE/{kind}/").status_code == 404
    assert api_client.get(f"/api/v1/products/{mug.sku}/{kind}/").status_code == 404
    assert client_for(staff).get(f"/api/v1/products/MUG-1/{kind}/").status_code == 404


def test_the_product_detail_route_does_not_shadow_the_lists(lists, api_client):
    assert api_client.get("/api/v1/products/MUG-1/").json()["sku"] == "MUG-1"
    assert isinstance(api_client.get("/api/v1/products/MUG-1/similar/").json(), list)


def test_exclusions_apply_to_the_api(lists, customer):
    _, tea, cup, _ = lists
    RecommendationRule.objects.create(action="exclude", product=tea)

    response = client_for(customer).get(ME)

    assert [(e["rank"], e["product"]["sku"]) for e in response.json()] == [(1, cup.sku)]


def test_entries_link_the_product_thumbnail(lists, api_client):
    from catalog.services import product_image_add
    from tests.admin_support import png_bytes

    mug, tea, _, _ = lists
    image = product_image_add(product=tea, raw=png_bytes()).image

    entry = api_client.get(f"/api/v1/products/{mug.sku}/similar/").json()[0]

    assert entry["product"]["thumbnail_url"] == (
        f"http://testserver{image.thumbnail.url}"
    )


def test_product_list_urls_without_the_slash_redirect(lists, api_client):
    response = api_client.get("/api/v1/products/MUG-1/bought-together")

    assert response.status_code == 301
    assert response["Location"] == "/api/v1/products/MUG-1/bought-together/"


def test_entries_are_what_the_declared_fields_give(lists, customer, rf):
    from catalog.services import product_image_add
    from recommender.api.lists import ServedItemSerializer
    from recommender.selectors import recommendations_for
    from tests.admin_support import png_bytes
    from tests.factories import CategoryFactory

    _, tea, cup, _ = lists
    product_image_add(product=tea, raw=png_bytes())
    cup.category = CategoryFactory()
    cup.save()
    RecommendationRule.objects.create(action="pin", product=cup, position=1)
    items = recommendations_for(customer)
    serializer = ServedItemSerializer(
        items,
        many=True,
        context={
            "request": rf.get("/"),
            "image_names": {item.product.pk: item.image_name for item in items},
        },
    )

    generic = [
        serializers.Serializer.to_representation(serializer.child, item)
        for item in items
    ]
    assert serializer.data == generic
    assert [e["score"] is None for e in generic] == [True, False]
    assert generic[0]["product"]["category_path"] == cup.category.path
    assert generic[1]["product"]["thumbnail_url"].startswith("http://testserver/")
