"""The browser set-up itself: Chromium renders a storefront page from the live server."""

import pytest

from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_chromium_renders_a_product_page(page):
    ProductFactory(sku="MUG-1", name="Blue mug", stock_tracked=False)

    page.goto("/products/MUG-1/")

    assert page.locator("h1").inner_text() == "Blue mug"
