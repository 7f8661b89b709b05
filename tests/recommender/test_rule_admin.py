"""Operator rules in the admin, and the served lists on the product page."""

import pytest
from django.urls import reverse

from recommender.models import ProductRecommendation, RecommendationRule
from tests.admin_support import count_queries
from tests.factories import CategoryFactory, ProductFactory
from tests.recommender.serving_support import serve_list

pytestmark = pytest.mark.django_db

ADD = "admin:recommender_recommendationrule_add"


def test_a_new_rule_records_who_created_it(admin_client, admin_user):
    product = ProductFactory()

    response = admin_client.post(
        reverse(ADD),
        {"action": "pin", "product": product.pk, "position": 3, "is_active": "on"},
    )

    assert response.status_code == 302
    rule = RecommendationRule.objects.get()
    assert (rule.product, rule.position, rule.created_by) == (product, 3, admin_user)
    changelist = admin_client.get(
        reverse("admin:recommender_recommendationrule_changelist")
    )
    assert product.sku in changelist.content.decode()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"action": "exclude"}, "Choose the product or category"),
        ({"action": "pin", "category": "cat"}, "A pin needs a product"),
        ({"action": "exclude", "category": "cat", "product": "p"}, "not both"),
    ],
)
def test_rules_that_make_no_sense_are_refused(admin_client, data, message):
    values = {"cat": CategoryFactory().pk, "p": ProductFactory().pk}
    form = {k: values.get(v, v) for k, v in data.items()}

    response = admin_client.post(reverse(ADD), {**form, "position": 1})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not RecommendationRule.objects.exists()


@pytest.mark.postgres
def test_product_page_shows_served_lists_without_growing_queries(admin_client):
    product = ProductFactory()
    others = [ProductFactory(stock_tracked=False) for _ in range(20)]
    hidden = ProductFactory(stock_tracked=False, is_active=False)
    url = reverse("admin:catalog_product_change", args=[product.pk])

    def serve(length):
        ProductRecommendation.objects.all().delete()
        batch = serve_list(product, [hidden, *others[:length]], "similar")
        serve_list(product, others[:length], "bought_together", batch)
        admin_client.get(url)
        return count_queries(admin_client, url)

    few, _ = serve(2)
    many, page = serve(20)

    assert many == few
    html = page.content.decode()
    assert "Similar products" in html and "Bought together" in html
    assert others[19].sku in html and hidden.sku not in html
    assert "As customers see it" in html
