"""Category pages: the sub-tree's products, filters, sorting, pages, navigation."""

import re

import pytest

from orders.models import Order
from recommender.models import BehaviourEvent
from tests.factories import CategoryFactory, ProductFactory
from tests.storefront.shop_support import make_shop, sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return make_shop()


def names(response) -> list[str]:
    """Return the product names listed on a page, in order."""
    return [p.name for p in response.context["page"].object_list]


def test_a_category_lists_its_own_and_its_sub_categories_products(client, shop):
    ProductFactory(name="Retired mug", category=shop.mugs, is_active=False)

    kitchen = client.get("/categories/kitchen/")
    mugs = client.get("/categories/kitchen/mugs/")

    assert kitchen.status_code == 200
    assert set(names(kitchen)) == {"Blue mug", "Red mug", "Round teapot"}
    assert set(names(mugs)) == {"Blue mug", "Red mug"}
    html = mugs.content.decode()
    assert "<h1>Mugs</h1>" in html
    assert 'href="/categories/kitchen/"' in html  # breadcrumb up the tree
    assert 'href="/products/MUG-BLUE/"' in html
    assert "3 products" in kitchen.content.decode()


def test_unknown_categories_are_not_found(client, shop):
    assert client.get("/categories/kitchen/cups/").status_code == 404
    assert client.get("/categories/nothing/").status_code == 404


def test_home_and_every_page_link_the_categories(client, shop):
    home = client.get("/").content.decode()
    product = client.get("/products/SPADE-1/").content.decode()

    nav = re.search(r'<nav aria-label="Categories".*?</nav>', product, re.S).group(0)
    assert 'href="/categories/kitchen/"' in nav and 'href="/categories/garden/"' in nav
    assert 'href="/categories/kitchen/teapots/"' in home  # sub-categories on the home
    assert 'href="/categories/garden/"' in product  # breadcrumb of the product


def test_sub_category_price_and_stock_filters(client, shop):
    url = "/categories/kitchen/"

    assert set(names(client.get(url, {"sub": "kitchen/teapots"}))) == {"Round teapot"}
    assert names(client.get(url, {"min_price": "10", "max_price": "20"})) == ["Red mug"]
    assert set(names(client.get(url, {"in_stock": "on"}))) == {
        "Blue mug",
        "Round teapot",  # not stock-tracked: always available
    }
    html = client.get(url, {"sub": "kitchen/mugs", "in_stock": "on"}).content.decode()
    assert '<option value="kitchen/mugs" selected>' in html
    assert 'name="in_stock" id="id_in_stock" checked' in html


def test_bad_filters_are_explained_and_not_applied(client, shop):
    crossed = client.get("/categories/kitchen/", {"min_price": "20", "max_price": "5"})
    nonsense = client.get("/categories/kitchen/", {"min_price": "cheap", "sort": "x"})

    assert len(names(crossed)) == 3
    assert "The minimum price is above the maximum price." in crossed.content.decode()
    assert len(names(nonsense)) == 3
    assert "Enter a number." in nonsense.content.decode()


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("price", ["Blue mug", "Red mug", "Round teapot"]),
        ("-price", ["Round teapot", "Red mug", "Blue mug"]),
        ("newest", ["Round teapot", "Red mug", "Blue mug"]),
        ("popular", ["Round teapot", "Blue mug", "Red mug"]),
    ],
)
def test_sorting(client, shop, sort, expected):
    sell(shop.teapot, 3)
    sell(shop.blue_mug, 2)
    sell(shop.red_mug, 9, days_ago=60)  # too long ago to count as popular now
    sell(shop.red_mug, 9, status=Order.Status.CANCELLED)

    assert names(client.get("/categories/kitchen/", {"sort": sort})) == expected


def test_pages_keep_the_filters(client, shop):
    for i in range(30):
        ProductFactory(name=f"Mug {i:02d}", category=shop.mugs, stock_tracked=False)

    first = client.get("/categories/kitchen/mugs/", {"sort": "price", "in_stock": "on"})
    second = client.get(
        "/categories/kitchen/mugs/", {"sort": "price", "in_stock": "on", "page": "2"}
    )

    assert len(names(first)) == 24 and len(names(second)) == 7
    assert 'href="?sort=price&amp;in_stock=on&amp;page=2"' in first.content.decode()
    assert "Page 2 of 2" in second.content.decode()
    assert client.get("/categories/kitchen/mugs/", {"page": "99"}).status_code == 200


def test_listing_records_no_views(client, shop, customer):
    client.force_login(customer)
    client.get("/categories/kitchen/")

    assert not BehaviourEvent.objects.exists()


def test_names_that_slugify_alike_get_their_own_urls(client):
    root = CategoryFactory(name="Home & Living")
    first = CategoryFactory(name="Mugs & Cups", parent=root)
    second = CategoryFactory(name="Mugs Cups", parent=root)
    ProductFactory(name="Cup A", category=first, stock_tracked=False)
    ProductFactory(name="Cup B", category=second, stock_tracked=False)

    home = client.get("/").content.decode()
    urls = re.findall(r'href="(/categories/home-living/[^"]+)"', home)

    assert urls == [
        "/categories/home-living/mugs-cups/",
        f"/categories/home-living/mugs-cups-{second.pk}/",
    ]
    assert names(client.get(urls[1])) == ["Cup B"]
