"""The behaviour event admin: a read-only, fast list of facts."""

import pytest
from django.urls import reverse

from tests.admin_support import assert_queries_do_not_grow
from tests.factories import BehaviourEventFactory, OrderFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:recommender_behaviourevent_changelist"


def add_events(n: int) -> None:
    for i in range(n):
        if i % 3 == 0:
            BehaviourEventFactory(kind="search", product=None, query="mug")
        else:
            BehaviourEventFactory(kind="purchase", order=OrderFactory())


@pytest.mark.postgres
def test_changelist_queries_do_not_grow_with_rows(admin_client):
    url = reverse(CHANGELIST)
    response = assert_queries_do_not_grow(admin_client, url, add_events)
    assert len(response.context["cl"].result_list) == 30


def test_events_are_read_only(admin_client):
    event = BehaviourEventFactory()
    change = reverse("admin:recommender_behaviourevent_change", args=[event.pk])
    delete = reverse("admin:recommender_behaviourevent_delete", args=[event.pk])

    page = admin_client.get(change)

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert admin_client.post(change, {"quantity": "5"}).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    add = reverse("admin:recommender_behaviourevent_add")
    assert admin_client.get(add).status_code == 403
    event.refresh_from_db()
    assert event.quantity == 1


def test_events_are_found_by_sku_and_filtered_by_kind(admin_client):
    add_events(3)
    view = BehaviourEventFactory(kind="view")
    url = reverse(CHANGELIST)

    found = admin_client.get(url, {"q": view.product.sku}).context["cl"].result_list
    searches = admin_client.get(url, {"kind__exact": "search"}).context["cl"]

    by_text = admin_client.get(url, {"q": "MUG"}).context["cl"].result_list

    assert [e.pk for e in found] == [view.pk]
    assert {e.kind for e in searches.result_list} == {"search"}
    assert len(by_text) == 1 and by_text[0].query == "mug"


def test_served_recommendations_list_renders_read_only(admin_client):
    from mlops.models import ModelVersion, Run, ServedBatch
    from recommender.models import Recommendation
    from tests.factories import CustomerFactory, ProductFactory

    run = Run.objects.create(kind="recommender", type="infer")
    version = ModelVersion.objects.create(
        kind="recommender",
        version=1,
        algorithm="x",
        status="champion",
        trained_at="2026-01-01T00:00Z",
    )
    batch = ServedBatch.objects.create(
        kind="recommender", model_version=version, run=run
    )
    Recommendation.objects.create(
        batch=batch,
        customer=CustomerFactory(),
        rank=1,
        product=ProductFactory(sku="REC-1"),
        score=0.5,
        reason="Popular right now",
    )
    url = reverse("admin:recommender_recommendation_changelist")
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "Popular right now" in page.content.decode()
    assert (
        admin_client.get(reverse("admin:recommender_recommendation_add")).status_code
        == 403
    )
