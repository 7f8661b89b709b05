"""The OpenAPI schema and its interactive docs."""

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client


def test_schema_validates_without_warnings(tmp_path):
    # Raises SchemaGenerationError on any warning, CommandError on an invalid schema.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yaml"
    )

    assert "/api/v1/products/" in (tmp_path / "s.yaml").read_text()


@pytest.mark.django_db
def test_schema_endpoint_serves_openapi(client: Client):
    response = client.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/products/",
        "/api/v1/products/{sku}/",
        "/api/v1/categories/tree/",
        "/api/v1/orders/",
        "/api/v1/orders/{number}/",
        "/api/v1/me/",
        "/api/v1/auth/token/",
    } <= set(schema["paths"])
    assert "409" in schema["paths"]["/api/v1/orders/"]["post"]["responses"]


@pytest.mark.django_db
def test_docs_render_with_self_hosted_assets(client: Client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
