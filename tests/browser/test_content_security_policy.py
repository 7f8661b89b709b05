"""The admin and the storefront work under the Content-Security-Policy: Chromium reports
no violation (no inline script, nothing from another origin) on their main pages."""

import pytest

from tests.browser.conftest import sign_in
from tests.factories import ProductFactory, StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)

STOREFRONT = ["/", "/products/MUG-1/", "/accounts/login/"]
ADMIN = [
    "/admin/",
    "/admin/catalog/product/",
    "/admin/catalog/product/{pk}/change/",
    "/admin/catalog/categoryreview/",
    "/admin/mlops/run/",
    "/admin/mlops/modelversion/",
    "/admin/forecasting/purchaseorder/",
    "/admin/accounts/user/",
]


def violations_while_visiting(page, paths) -> list[str]:
    seen: list[str] = []
    page.on(
        "console",
        lambda message: seen.append(f"{page.url}: {message.text}")
        if "Content Security Policy" in message.text
        else None,
    )
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
    return seen


def test_the_storefront_runs_under_the_policy(page):
    ProductFactory(sku="MUG-1", name="Blue mug", stock_tracked=False)

    assert violations_while_visiting(page, STOREFRONT) == []


def test_the_admin_runs_under_the_policy(page):
    mug = ProductFactory(sku="MUG-1", name="Blue mug", stock_tracked=False)
    staff = StaffFactory()
    sign_in(
        page,
        path="/admin/login/",
        username=staff.username,
        password="correct-horse-battery",
    )

    paths = [path.format(pk=mug.pk) for path in ADMIN]
    assert violations_while_visiting(page, paths) == []
