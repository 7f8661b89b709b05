"""A NUL character in any path is a 404, never a server error (PostgreSQL refuses it)."""

import pytest

from tests.factories import StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

PAGES = [
    "/products/%00/",
    "/categories/%00/",
    "/orders/%00/",
    "/checkout/done/%00/",
    "/forecasts/products/%00/",
    "/admin/catalog/product/%00/change/",
]
API = ["/api/v1/products/%00/", "/api/v1/orders/%00/", "/api/v1/products/%00/similar/"]


@pytest.mark.parametrize("path", PAGES + API)
def test_a_nul_in_the_path_is_not_found(client, path):
    client.force_login(StaffFactory())
    client.raise_request_exception = False

    response = client.get(path)

    assert response.status_code == 404
    expected = "application/json" if path.startswith("/api/") else "text/plain"
    assert response["Content-Type"].startswith(expected)
