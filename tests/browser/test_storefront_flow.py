"""A customer in a real browser: sign in, see "for you", browse home → category →
product, add to the basket, place the order and find it in the order history."""

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from orders.models import Order
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory
from tests.recommender.serving_support import serve_for, serve_list
from tests.storefront.shop_support import make_shop, sell

pytestmark = pytest.mark.django_db(transaction=True)


def test_customer_browses_and_places_an_order(page):
    cache.clear()  # no popularity cached by an earlier test
    shop = make_shop()
    customer = CustomerFactory(username="ada")
    serve_for(customer, [shop.teapot, shop.spade])
    serve_list(shop.blue_mug, [shop.teapot], "similar")
    sell(shop.spade, 2)

    sign_in(
        page, path="/accounts/login/", username="ada", password="correct-horse-battery"
    )

    expect(page.locator("h1")).to_have_text("Recommended for you")
    expect(page.locator("main .card-name")).to_have_text(["Round teapot", "Spade"])

    page.get_by_role("link", name="Shop", exact=True).click()
    trending = page.locator("section", has=page.locator("#trending-heading"))
    expect(trending.locator(".card-name").first).to_have_text("Spade")

    page.get_by_role("navigation", name="Categories").get_by_role(
        "link", name="Kitchen"
    ).click()
    expect(page.locator("h1")).to_have_text("Kitchen")
    page.get_by_label("In stock only").check()
    page.get_by_label("Sort by").select_option("price")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("main .card-name")).to_have_text(["Blue mug", "Round teapot"])

    page.get_by_role("link", name="Blue mug").click()
    expect(page.locator("h1")).to_have_text("Blue mug")
    similar = page.locator("section", has=page.locator("#similar-heading"))
    expect(similar).to_contain_text("Round teapot")

    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to basket").click()
    expect(page).to_have_url(re.compile(r"/basket/$"))
    expect(page.get_by_role("status")).to_contain_text("Added Blue mug")
    expect(page.locator(".badge")).to_contain_text("2")

    page.get_by_role("link", name="Checkout").click()
    expect(page.locator("h1")).to_have_text("Checkout")
    expect(page.locator(".total")).to_have_text("16.00 EUR")
    page.get_by_role("button", name="Place order").click()

    expect(page.locator("h1")).to_have_text("Thank you for your order")
    order = Order.objects.get(customer=customer)
    expect(page.locator(".confirmation")).to_contain_text(order.number)

    page.get_by_role("link", name="Orders", exact=True).click()
    row = page.get_by_role("row", name=re.compile(order.number))
    expect(row).to_contain_text("Blue mug × 2")
    expect(row).to_contain_text("16.00 EUR")
    shop.blue_mug.refresh_from_db()
    assert shop.blue_mug.stock_on_hand == 3


def test_pages_fit_a_phone_screen(page):
    cache.clear()
    shop = make_shop()
    serve_list(shop.blue_mug, [shop.teapot, shop.spade], "similar")
    page.set_viewport_size({"width": 375, "height": 740})

    def overflow() -> int:
        return page.evaluate("document.documentElement.scrollWidth - innerWidth")

    for path in ("/", "/categories/kitchen/", "/products/MUG-BLUE/"):
        page.goto(path)
        assert overflow() <= 0, path
    page.get_by_role("button", name="Add to basket").click()
    expect(page.locator("h1")).to_have_text("Your basket")
    assert overflow() <= 0, "/basket/"
