"""Every storefront page runs a bounded number of queries, however many rows it shows."""

import pytest
from django.core.cache import cache

from catalog.models import VisuallySimilarProduct
from catalog.services import product_image_add
from orders.services import CartLine, order_place
from recommender.models import ProductRecommendation, Recommendation
from tests.admin_support import count_queries, png_bytes
from tests.catalog.categorisation_support import look_alike
from tests.factories import CategoryFactory, ProductFactory
from tests.recommender.serving_support import serve_for, serve_list

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# The most queries each page may run, signed in: session, user, the category
# navigation, then the page's own reads (and the product page's view insert).
LIMITS = {
    "home": 5,
    "category": 5,
    "category_by_price": 5,
    "product": 10,
    "for_you": 5,
    "basket": 4,
    "checkout": 4,
    "orders": 6,
    "order": 5,
}


def add_products(category, n: int) -> list:
    """Add `n` sellable products with a picture each, and a sale each."""
    products = []
    for i in range(n):
        product = ProductFactory(category=category, stock=5)
        product_image_add(product=product, raw=png_bytes(i % 7))
        products.append(product)
    return products


def test_pages_run_as_many_queries_with_many_rows_as_with_few(
    client, customer, settings
):
    settings.SHOP_REPEAT_PURCHASE = True  # "for you" keeps what the order bought
    root = CategoryFactory(name="Kitchen")
    leaf = CategoryFactory(name="Mugs", parent=root)
    CategoryFactory(name="Garden")
    main = ProductFactory(sku="MAIN", category=leaf, stock_tracked=False)
    client.force_login(customer)

    def measure(products) -> dict[str, int]:
        Recommendation.objects.all().delete()
        ProductRecommendation.objects.all().delete()
        VisuallySimilarProduct.objects.all().delete()
        serve_for(customer, products)
        serve_list(main, products, "similar")
        serve_list(main, products, "bought_together")
        look_alike(main, products)
        session = client.session
        session["basket"] = {str(p.pk): 1 for p in products}
        session.save()
        order = order_place(
            customer=customer, lines=[CartLine(p.pk, 1) for p in products]
        )
        urls = {
            "home": "/",
            "category": "/categories/kitchen/?sort=popular&in_stock=on&min_price=1",
            "category_by_price": "/categories/kitchen/mugs/?sort=price&page=1",
            "product": "/products/MAIN/",
            "for_you": "/for-you/",
            "basket": "/basket/",
            "checkout": "/checkout/",
            "orders": "/orders/",
            "order": f"/orders/{order.number}/",
        }
        cache.clear()
        for url in urls.values():  # warm per-process caches and the popularity
            client.get(url)
        return {name: count_queries(client, url)[0] for name, url in urls.items()}

    products = add_products(leaf, 2)
    few = measure(products)
    products += add_products(leaf, 28)
    many = measure(products)

    # No page reads more with 30 rows than with 2 (the home reads less: with 30
    # products sold lately it needs no newest products to fill the list).
    assert {name: (few[name], n) for name, n in many.items() if n > few[name]} == {}
    assert {name: n for name, n in few.items() if n > LIMITS[name]} == {}
