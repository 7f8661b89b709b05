"""Staff in a real browser: accept a suggestion in the category review queue and see
the category assigned to the product."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.catalog.categorisation_support import (
    image_version,
    leaf_categories,
    queued_product,
)
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_accepting_a_suggestion_files_the_product(page):
    leaves = leaf_categories(3)
    product = queued_product(
        leaves, image_version(1), sku="SHIRT-1", name="Striped shirt"
    )
    staff = StaffFactory()

    sign_in(
        page,
        path="/admin/login/?next=/admin/catalog/categoryreview/",
        username=staff.username,
        password="correct-horse-battery",
    )
    row = page.get_by_role("row", name="Striped shirt")
    expect(row).to_contain_text("Clothing > Leaf 0 60%")
    row.get_by_title("File under Clothing > Leaf 0").click()  # the top one

    expect(page.locator(".messagelist")).to_contain_text(
        "SHIRT-1 filed under Clothing > Leaf 0."
    )
    expect(page.get_by_role("row", name="Striped shirt")).to_have_count(0)
    product.refresh_from_db()
    assert (product.category, product.auto_category_status) == (
        leaves[0],
        "accepted",
    )

    page.goto(f"/admin/catalog/product/{product.pk}/change/")
    expect(page.locator(".field-category")).to_contain_text("Clothing > Leaf 0")
    expect(page.locator(".field-auto_category_status")).to_contain_text(
        "Accepted by an operator"
    )
