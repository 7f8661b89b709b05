"""Staff API of customer segments: overview, members, CSV, one customer."""

import pytest
from django.urls import reverse

from mlops.models import ServedBatch
from tests.recommender.segment_support import segment_row, served_segments_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(db):
    batch = served_segments_batch()
    return [
        segment_row(batch, segment="at_risk", risk=0.3, money="40"),
        segment_row(batch, segment="at_risk", risk=0.9, money="60"),
        segment_row(batch, segment="champions", risk=0.1, money="100"),
    ]


URLS = [
    reverse("api-segments"),
    reverse("api-segment-customers", args=["at_risk"]),
    reverse("api-segment-export", args=["at_risk"]),
]


@pytest.mark.parametrize("url", URLS)
def test_customers_get_403_and_anonymous_401(url, customer_client, api_client, served):
    assert customer_client.get(url).status_code == 403
    assert api_client.get(url).status_code == 401


def test_one_customers_segment_is_staff_only(customer_client, customer, served):
    url = reverse("api-customer-segment", args=[customer.pk])
    assert customer_client.get(url).status_code == 403


def test_overview(staff_client, served):
    response = staff_client.get(reverse("api-segments"))

    assert response.status_code == 200
    by_name = {s["segment"]: s for s in response.json()}
    assert by_name["at_risk"]["size"] == 2
    assert by_name["at_risk"]["revenue_share"] == pytest.approx(0.5)
    assert by_name["at_risk"]["average_churn_risk"] == pytest.approx(0.6)
    assert by_name["champions"]["top_categories"][0]["name"] == "Garden > Tools"


def test_segment_customers_are_paginated_riskiest_first(staff_client, served):
    response = staff_client.get(reverse("api-segment-customers", args=["at_risk"]))

    body = response.json()
    assert body["count"] == 2
    assert [r["customer_id"] for r in body["results"]] == [
        served[1].customer_id,
        served[0].customer_id,
    ]
    assert body["results"][0]["category_affinities"][0]["share"] == 0.75
    missing = reverse("api-segment-customers", args=["nobody"])
    assert staff_client.get(missing).status_code == 404


def test_segment_export_is_csv(staff_client, served):
    response = staff_client.get(reverse("api-segment-export", args=["champions"]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "customer_id,username,email,segment,churn_risk,top_categories"
    assert lines[1].startswith(f"{served[2].customer_id},")
    assert len(lines) == 2


def test_one_customer_reads_the_active_batch(staff_client, staff, served):
    customer = served[0].customer
    old = served_segments_batch(state=ServedBatch.State.SUPERSEDED)
    segment_row(old, customer, segment="lost")

    response = staff_client.get(reverse("api-customer-segment", args=[customer.pk]))

    assert response.status_code == 200
    assert response.json()["rfm_segment"] == "at_risk"
    assert response.json()["username"] == customer.username
    other = reverse("api-customer-segment", args=[staff.pk])  # no segment
    assert staff_client.get(other).status_code == 404
