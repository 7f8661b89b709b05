"""The category review queue in the admin, and the product page's automatic category."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from catalog.models import CategoryDecision, Product
from catalog.services import product_image_add
from tests.admin_support import assert_queries_do_not_grow, form_data, png_bytes
from tests.catalog.categorisation_support import (
    image_version,
    leaf_categories,
    queued_product,
)
from tests.factories import ProductFactory, StaffFactory

pytestmark = pytest.mark.django_db

QUEUE = "/admin/catalog/categoryreview/"
DECIDE = "/admin/catalog/categoryreview/decide/"


@pytest.fixture
def leaves():
    return leaf_categories(3)


@pytest.fixture
def version():
    return image_version(1)


@pytest.fixture
def queued(leaves, version):
    product = queued_product(leaves, version, sku="SHIRT-1", name="Striped shirt")
    product_image_add(product=product, raw=png_bytes(1))
    return product


def test_queue_shows_image_title_suggestions_and_pick_another(
    admin_client, queued, leaves
):
    ProductFactory(sku="KEPT-1", category=leaves[1])  # an operator's: not queued

    page = admin_client.get(QUEUE).content.decode()

    assert "Striped shirt" in page and "KEPT-1" not in page
    assert "thumbs/" in page  # the thumbnail
    assert f'name="accept" value="{queued.pk}:{leaves[0].pk}"' in page
    assert "Clothing &gt; Leaf 0 <strong>60%</strong>" in page
    assert f'name="pick-{queued.pk}" list="review-category-paths"' in page
    assert '<option value="Clothing &gt; Leaf 2">' in page
    assert "accept_selected" in page
    assert "Why not filed automatically" in page
    assert "confidence 60% below the category&#x27;s threshold 90%" in page


def test_queue_is_linked_from_the_admin_index(admin_client):
    assert QUEUE in admin_client.get("/admin/").content.decode()


def test_queue_queries_do_not_grow_with_rows(
    admin_client, leaves, version, django_assert_max_num_queries
):
    def add_rows(n):
        for i in range(n):
            product = queued_product(leaves, version)
            product_image_add(product=product, raw=png_bytes(i + 5))

    response = assert_queries_do_not_grow(admin_client, QUEUE, add_rows)
    assert response.content.decode().count('name="pick"') == 30
    # Session, user, count, page of rows, suggested categories, leaves, filter.
    with django_assert_max_num_queries(9):
        admin_client.get(QUEUE)


def test_one_click_accept_through_the_pages_form(leaves, queued):
    staff = StaffFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    page = client.get(QUEUE)
    data = form_data(page, "changelist-form")  # carries the CSRF token

    response = client.post(
        DECIDE, {**data, "accept": f"{queued.pk}:{leaves[0].pk}"}, HTTP_REFERER=QUEUE
    )

    assert response.status_code == 302 and response.url == QUEUE
    queued.refresh_from_db()
    assert (queued.category, queued.category_source) == (leaves[0], "operator")
    decision = CategoryDecision.objects.get(action="accepted")
    assert decision.user == staff


def test_accepting_the_second_suggestion_overrides(admin_client, queued, leaves):
    admin_client.post(DECIDE, {"accept": f"{queued.pk}:{leaves[1].pk}"})

    queued.refresh_from_db()
    assert queued.category == leaves[1]
    assert queued.auto_category_status == "overridden"


def test_pick_another_category_by_path(admin_client, queued, leaves):
    response = admin_client.post(
        DECIDE,
        {"pick": str(queued.pk), f"pick-{queued.pk}": "Clothing > Leaf 2"},
        follow=True,
    )

    assert "SHIRT-1 filed under Clothing &gt; Leaf 2." in response.content.decode()
    queued.refresh_from_db()
    assert (queued.category, queued.auto_category_status) == (
        leaves[2],
        "overridden",
    )


def test_pick_an_unknown_category_says_so_and_changes_nothing(admin_client, queued):
    response = admin_client.post(
        DECIDE,
        {"pick": str(queued.pk), f"pick-{queued.pk}": "Nowhere"},
        follow=True,
    )

    assert "No category has the path" in response.content.decode()
    assert Product.objects.get(pk=queued.pk).category is None


def test_bulk_accept_action(admin_client, leaves, version):
    products = [queued_product(leaves, version) for _ in range(3)]
    ids = [str(p.pk) for p in products[:2]]

    admin_client.post(
        QUEUE, {"action": "accept_selected", "_selected_action": ids}, follow=True
    )

    accepted = Product.objects.filter(category=leaves[0], category_source="operator")
    assert sorted(map(str, accepted.values_list("pk", flat=True))) == sorted(ids)
    assert CategoryDecision.objects.filter(action="accepted").count() == 2


def test_decisions_need_the_review_permission(queued, leaves):
    clerk = StaffFactory(is_superuser=False)
    clerk.user_permissions.add(Permission.objects.get(codename="view_product"))
    client = Client()
    client.force_login(clerk)

    assert client.get(QUEUE).status_code == 403
    assert client.post(DECIDE, {"accept": f"{queued.pk}:1"}).status_code == 403

    clerk.user_permissions.add(Permission.objects.get(codename="review_category"))
    assert client.get(QUEUE).status_code == 200
    client.post(DECIDE, {"accept": f"{queued.pk}:{leaves[0].pk}"})
    assert Product.objects.get(pk=queued.pk).category == leaves[0]


def test_decide_only_takes_posts(admin_client):
    assert admin_client.get(DECIDE).status_code == 405


def test_product_page_shows_the_automatic_category(admin_client, queued):
    url = reverse("admin:catalog_product_change", args=[queued.pk])

    page = admin_client.get(url).content.decode()

    assert "Automatic category" in page
    assert "Clothing &gt; Leaf 0 (60%)" in page
    assert "Needs review" in page
    assert "image v1" in page
    assert "Queued for review" in page  # the decision history


def test_a_product_added_without_a_category_has_none(admin_client):
    url = reverse("admin:catalog_product_add")
    data = form_data(admin_client.get(url), "product_form")
    data.update(sku="NEW-1", name="New thing", price="3", currency="EUR")

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Product.objects.get(sku="NEW-1").category_source == "none"


def test_setting_the_category_on_the_product_page_is_an_operator_decision(
    admin_client, queued, leaves
):
    url = reverse("admin:catalog_product_change", args=[queued.pk])
    data = form_data(admin_client.get(url), "product_form")
    data["category"] = str(leaves[2].pk)

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    queued.refresh_from_db()
    assert (queued.category, queued.category_source) == (leaves[2], "operator")
    assert queued.auto_category_status == "overridden"
    assert CategoryDecision.objects.filter(action="overridden").exists()


def test_a_queue_row_opens_the_products_own_page(admin_client, queued):
    response = admin_client.get(f"{QUEUE}{queued.pk}/change/")

    assert response.status_code == 302
    assert response.url == reverse("admin:catalog_product_change", args=[queued.pk])
