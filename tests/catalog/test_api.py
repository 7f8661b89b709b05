"""The public catalogue API: products and categories."""

import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from PIL import Image

from catalog.services import product_image_add
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


def png(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "PNG")
    return buffer.getvalue()


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [product["sku"] for product in response.json()["results"]]


def test_anonymous_can_read_products_and_categories(api_client):
    product = ProductFactory(stock=3)

    listing = api_client.get(PRODUCTS)
    detail = api_client.get(f"{PRODUCTS}{product.sku}/")
    categories = api_client.get("/api/v1/categories/")

    assert skus(listing) == [product.sku]
    assert detail.status_code == 200
    assert categories.status_code == 200
    assert categories.json()["results"][0]["id"] == product.category_id


def test_anonymous_cannot_write_products(api_client):
    response = api_client.post(PRODUCTS, {"sku": "NEW", "name": "x", "price": "1"})

    assert response.status_code in (401, 403)


def test_product_detail_by_sku(api_client):
    kitchen = CategoryFactory(name="Kitchen")
    mugs = CategoryFactory(name="Mugs", parent=kitchen)
    product = ProductFactory(
        sku="MUG-1", category=mugs, price=Decimal("7.50"), stock=4, description="Big"
    )
    product_image_add(product=product, raw=png("red"))

    body = api_client.get(f"{PRODUCTS}MUG-1/").json()

    assert body["sku"] == "MUG-1"
    assert body["description"] == "Big"
    assert body["price"] == "7.50"
    assert body["currency"] == "EUR"
    assert body["in_stock"] is True
    assert body["category"] == {"id": mugs.id, "name": "Mugs", "path": "Kitchen > Mugs"}
    [image] = body["images"]
    assert (image["width"], image["height"]) == (40, 30)
    assert image["url"].startswith("http://testserver/media/products/MUG-1/")
    assert image["thumbnail_url"].startswith("http://testserver/media/products/MUG-1/")
    assert "stock_on_hand" not in body


def test_unknown_sku_is_404(api_client):
    assert api_client.get(f"{PRODUCTS}NOPE/").status_code == 404


def test_staff_see_stock_figures_and_inactive_products(api_client, staff_client):
    retired = ProductFactory(is_active=False, stock=2)

    assert skus(api_client.get(PRODUCTS)) == []
    assert api_client.get(f"{PRODUCTS}{retired.sku}/").status_code == 404
    body = staff_client.get(f"{PRODUCTS}{retired.sku}/").json()
    assert (body["is_active"], body["stock_on_hand"]) == (False, 2)
    assert skus(staff_client.get(PRODUCTS)) == [retired.sku]


def test_inactive_products_hidden_from_customers(customer_client):
    active = ProductFactory()
    ProductFactory(is_active=False)

    assert skus(customer_client.get(PRODUCTS)) == [active.sku]


@pytest.mark.postgres
def test_category_filter_includes_descendants_only(api_client):
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    # A sibling whose path merely starts with the same letters must not match.
    homeware = CategoryFactory(name="Homeware")
    in_home = ProductFactory(category=home)
    in_kitchen = ProductFactory(category=kitchen)
    ProductFactory(category=homeware)

    assert skus(api_client.get(PRODUCTS, {"category": home.id})) == sorted(
        [in_home.sku, in_kitchen.sku]
    )
    assert skus(api_client.get(PRODUCTS, {"category": kitchen.id})) == [in_kitchen.sku]


def test_unknown_category_is_400_naming_the_field(api_client):
    response = api_client.get(PRODUCTS, {"category": 999999})

    assert response.status_code == 400
    assert "category" in response.json()


def test_price_range_filter_is_inclusive(api_client):
    for price in ("5.00", "10.00", "15.00", "20.00"):
        ProductFactory(sku=f"P{price}", price=Decimal(price))

    found = skus(api_client.get(PRODUCTS, {"min_price": "10", "max_price": "15"}))

    assert found == ["P10.00", "P15.00"]


def test_in_stock_filter_counts_untracked_as_available(api_client):
    stocked = ProductFactory(sku="A-STOCKED", stock=1)
    untracked = ProductFactory(sku="B-UNTRACKED", stock_tracked=False)
    sold_out = ProductFactory(sku="C-SOLD-OUT")

    assert skus(api_client.get(PRODUCTS, {"in_stock": "true"})) == [
        stocked.sku,
        untracked.sku,
    ]
    assert skus(api_client.get(PRODUCTS, {"in_stock": "false"})) == [sold_out.sku]


@pytest.mark.postgres
def test_search_matches_sku_name_and_description(api_client):
    ProductFactory(sku="TEA-1", name="Green", description="")
    ProductFactory(sku="X-2", name="Teapot", description="")
    ProductFactory(sku="X-3", name="Cup", description="For tea lovers")
    ProductFactory(sku="X-4", name="Plate", description="Flat")

    assert skus(api_client.get(PRODUCTS, {"search": "tea"})) == ["TEA-1", "X-2", "X-3"]


@pytest.mark.parametrize(
    "ordering, expected",
    [
        ("price", ["B", "C", "A"]),
        ("-price", ["A", "C", "B"]),
        ("name", ["C", "A", "B"]),
    ],
)
def test_ordering(api_client, ordering, expected):
    ProductFactory(sku="A", name="Beta", price=Decimal("30"))
    ProductFactory(sku="B", name="Gamma", price=Decimal("10"))
    ProductFactory(sku="C", name="Alpha", price=Decimal("20"))

    assert skus(api_client.get(PRODUCTS, {"ordering": ordering})) == expected


def test_pagination(api_client):
    ProductFactory.create_batch(52)

    first = api_client.get(PRODUCTS).json()
    second = api_client.get(PRODUCTS, {"page": 2}).json()

    assert first["count"] == 52
    assert len(first["results"]) == 50
    assert len(second["results"]) == 2
    assert second["next"] is None


def test_product_list_queries_do_not_grow_with_rows(
    api_client, django_assert_num_queries
):
    def add_products(count: int) -> None:
        for product in ProductFactory.create_batch(count, stock=1):
            product_image_add(product=product, raw=png("blue"))
            product_image_add(product=product, raw=png("green"))

    add_products(3)
    # count, products joined with categories, prefetched images
    with django_assert_num_queries(3):
        assert len(skus(api_client.get(PRODUCTS))) == 3
    add_products(27)
    with django_assert_num_queries(3):
        body = api_client.get(PRODUCTS).json()
    assert len(body["results"]) == 30
    assert all(len(product["images"]) == 2 for product in body["results"])


def test_category_detail_and_tree(api_client):
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    mugs = CategoryFactory(name="Mugs", parent=kitchen)
    garden = CategoryFactory(name="Garden")

    detail = api_client.get(f"/api/v1/categories/{mugs.id}/").json()
    tree = api_client.get("/api/v1/categories/tree/").json()

    assert detail == {
        "id": mugs.id,
        "name": "Mugs",
        "parent": kitchen.id,
        "path": "Home > Kitchen > Mugs",
        "depth": 2,
    }

    def shape(nodes):
        return [(node["name"], shape(node["children"])) for node in nodes]

    assert shape(tree) == [("Garden", []), ("Home", [("Kitchen", [("Mugs", [])])])]
    assert tree[0]["id"] == garden.id


def test_category_tree_is_one_query(api_client, django_assert_num_queries):
    root = CategoryFactory(name="Root")
    for index in range(5):
        CategoryFactory(name=f"Leaf {index}", parent=root)

    with django_assert_num_queries(1):
        assert api_client.get("/api/v1/categories/tree/").status_code == 200
