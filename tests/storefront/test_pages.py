"""The storefront pages: home and trending, product page, "for you", views recorded."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommender.models import BehaviourEvent, ProductRecommendation, Recommendation
from tests.admin_support import count_queries
from tests.catalog.categorisation_support import look_alike
from tests.factories import ProductFactory
from tests.recommender.serving_support import serve_for, serve_list
from tests.storefront.shop_support import make_shop, sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def mug():
    return ProductFactory(sku="MUG-1", name="Blue mug", stock_tracked=False)


def test_home_links_to_products(client, mug):
    page = client.get("/")

    assert page.status_code == 200
    assert 'href="/products/MUG-1/"' in page.content.decode()
    assert "/static/storefront/storefront.css" in page.content.decode()


def test_home_shows_what_sold_most_lately_then_the_newest(client):
    shop = make_shop()
    sell(shop.spade, 1)
    sell(shop.blue_mug, 4)
    sell(shop.blue_mug, 1, days_ago=2)
    sell(shop.teapot, 50, days_ago=30)  # long ago: not trending
    sell(shop.red_mug, 9)  # out of stock now: not shown
    retired = ProductFactory(name="Retired", stock_tracked=False, is_active=False)
    sell(retired, 20)

    response = client.get("/")

    names = [p.name for p in response.context["products"]]
    assert names == ["Blue mug", "Spade", "Round teapot"]
    assert "Trending now" in response.content.decode()


def test_home_without_sales_shows_the_newest(client):
    shop = make_shop()

    names = [p.name for p in client.get("/").context["products"]]

    assert names == ["Spade", "Round teapot", "Blue mug"]
    assert shop.red_mug.is_out_of_stock


def test_product_page_shows_the_product_and_its_lists(client, mug):
    similar = ProductFactory(name="Green mug", stock_tracked=False)
    together = ProductFactory(name="Teapot", stock_tracked=False)
    hidden = ProductFactory(name="Retired mug", stock_tracked=False, is_active=False)
    batch = serve_list(mug, [similar, hidden], "similar")
    serve_list(mug, [together], "bought_together", batch)

    html = client.get("/products/MUG-1/").content.decode()

    assert "<h1>Blue mug</h1>" in html
    assert mug.category.name in html and "19.99 EUR" in html
    assert 'action="/basket/add/"' in html and 'name="sku" value="MUG-1"' in html
    assert "You may also like" in html and "Green mug" in html
    assert "Bought together" in html and "Teapot" in html
    assert "Retired mug" not in html


def test_product_page_shows_what_looks_alike(client, mug):
    twin = ProductFactory(name="Blue cup", stock_tracked=False)
    look_alike(mug, [twin])

    html = client.get("/products/MUG-1/").content.decode()

    assert "Looks alike" in html and "Blue cup" in html


def test_unknown_and_inactive_products_are_not_found(client, mug):
    mug.is_active = False
    mug.save()
    assert client.get("/products/MUG-1/").status_code == 404
    assert client.get("/products/NOPE/").status_code == 404


def test_a_view_is_recorded_for_the_customer_or_the_session(client, mug, customer):
    client.get("/products/MUG-1/")
    client.force_login(customer)
    with CaptureQueriesContext(connection) as queries:
        client.get("/products/MUG-1/")

    anonymous, signed_in = BehaviourEvent.objects.order_by("id")
    assert (anonymous.kind, anonymous.customer, anonymous.product) == (
        "view",
        None,
        mug,
    )
    assert signed_in.customer == customer
    assert signed_in.session_key == client.session.session_key
    inserts = [q for q in queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1


def test_staff_browsing_is_not_recorded(client, mug, staff):
    client.force_login(staff)
    client.get("/products/MUG-1/")
    assert not BehaviourEvent.objects.exists()


def test_for_you_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/for-you/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/for-you/"
    login = client.get(response["Location"])
    assert login.status_code == 200
    assert 'name="next" value="/for-you/"' in login.content.decode()


def test_signing_in_leads_back_to_for_you(client, customer, mug):
    serve_for(customer, [mug])

    response = client.post(
        "/accounts/login/",
        {"username": customer.username, "password": "correct-horse-battery"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == "/for-you/"
    html = response.content.decode()
    assert "Recommended for you" in html and "Blue mug" in html


@pytest.mark.postgres
def test_query_counts_do_not_grow_with_list_length(client, customer):
    products = [ProductFactory(stock_tracked=False) for _ in range(21)]
    main, others = products[0], products[1:]
    client.force_login(customer)
    urls = (f"/products/{main.sku}/", "/for-you/", "/")

    def serve(length):
        Recommendation.objects.all().delete()
        ProductRecommendation.objects.all().delete()
        batch = serve_list(main, others[:length], "similar")
        serve_list(main, others[:length], "bought_together", batch)
        serve_for(customer, others[:length], batch)
        for url in urls:  # warm per-process caches and the cached popularity
            client.get(url)
        return [count_queries(client, url) for url in urls]

    few = serve(2)
    many = serve(20)

    assert [n for n, _ in many] == [n for n, _ in few]
    assert len(many[1][1].context["items"]) == 20


def test_product_page_shows_the_picture(client, mug):
    from catalog.services import product_image_add
    from tests.admin_support import png_bytes

    image = product_image_add(product=mug, raw=png_bytes(), alt_text="A blue mug").image

    html = client.get("/products/MUG-1/").content.decode()

    assert f'src="{image.image.url}"' in html and 'alt="A blue mug"' in html


def test_the_basket_form_only_for_products_in_stock(client):
    shop = make_shop()

    in_stock = client.get("/products/MUG-BLUE/").content.decode()
    sold_out = client.get("/products/MUG-RED/").content.decode()

    assert "Only 5 left" in in_stock and "Add to basket" in in_stock
    assert "Out of stock" in sold_out and "Add to basket" not in sold_out
    assert 'href="/categories/kitchen/" aria-current="true"' in in_stock
    assert shop.red_mug.stock_on_hand == 0
