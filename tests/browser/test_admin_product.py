"""Staff in a real browser: sign in to the admin, open a product and see its forecast
chart, its served recommendations and its automatic category."""

import pytest
from playwright.sync_api import expect

from catalog.categorisation import CategoryPrediction, apply_predictions_bulk
from tests.browser.conftest import sign_in
from tests.catalog.categorisation_support import (
    image_version,
    leaf_categories,
    suggestions,
)
from tests.factories import ProductFactory, StaffFactory
from tests.forecasting.test_views import forecast_product
from tests.recommender.serving_support import serve_list

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_see_a_products_forecast_recommendations_and_category(page):
    leaves = leaf_categories(3)
    product = forecast_product(
        sku="SHIRT-1", name="Striped shirt", category=None, category_source="none"
    )
    apply_predictions_bulk(
        [
            CategoryPrediction(
                product_id=product.pk,
                suggestions=suggestions(leaves, [0.95, 0.04, 0.01]),
                confidence=0.95,
                threshold=0.9,
            )
        ],
        version=image_version(1),
    )
    similar = ProductFactory(sku="SHIRT-2", stock_tracked=False)
    together = ProductFactory(sku="TIE-1", stock_tracked=False)
    batch = serve_list(product, [similar], "similar")
    serve_list(product, [together], "bought_together", batch)
    staff = StaffFactory()

    sign_in(
        page,
        path=f"/admin/login/?next=/admin/catalog/product/{product.pk}/change/",
        username=staff.username,
        password="correct-horse-battery",
    )

    expect(page.locator("h2", has_text="SHIRT-1")).to_be_visible()
    automatic = page.get_by_role("group", name="Automatic category")
    expect(automatic.locator(".field-auto_category_summary")).to_contain_text(
        "Clothing > Leaf 0 (95%)"
    )
    expect(automatic.locator(".field-auto_category_status")).to_contain_text(
        "Assigned automatically"
    )

    forecast = page.get_by_role("group", name="Forecast")
    demand = forecast.locator("svg.forecast-chart").first
    expect(demand).to_be_visible()
    expect(demand.locator(":scope > title")).to_have_text("Demand of SHIRT-1")
    assert demand.bounding_box()["height"] > 50

    recommendations = page.get_by_role("group", name="Recommendations")
    recommendations.locator("summary").click()
    expect(recommendations.locator(".field-similar_list")).to_contain_text("SHIRT-2")
    expect(recommendations.locator(".field-bought_together_list")).to_contain_text(
        "TIE-1"
    )
