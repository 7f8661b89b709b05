"""Segment admin: overview with movement, CSV export, customer filter and panel."""

import csv
import io

import pytest
from django.urls import reverse

from mlops.models import ServedBatch
from tests.admin_support import assert_queries_do_not_grow, count_queries
from tests.factories import CustomerFactory
from tests.recommender.segment_support import (
    segment_row,
    served_segments_batch,
    snapshot,
)

pytestmark = pytest.mark.django_db

OVERVIEW = "admin:recommender_customersegment_overview"


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def batch():
    return served_segments_batch()


def test_overview_shows_segments_and_movement(admin_client, batch):
    old = served_segments_batch(state=ServedBatch.State.SUPERSEDED)
    snapshot(old)
    snapshot(batch, {"champions": {"champions": 1, "at_risk": 1}})
    segment_row(batch, money="300")
    segment_row(batch, segment="at_risk", risk=0.8, money="100")

    _, response = count_queries(admin_client, reverse(OVERVIEW))

    segments = {s["segment"]: s for s in response.context["segments"]}
    assert segments["champions"]["size"] == 1
    assert segments["champions"]["revenue_share"] == pytest.approx(0.75)
    assert segments["at_risk"]["average_churn_risk"] == pytest.approx(0.8)
    assert segments["champions"]["top_categories"][0]["name"] == "Garden > Tools"
    movement = response.context["movement"]
    assert movement["rows"] == [("Champions", [1, 1])]
    assert len(response.context["history"]) == 2
    page = response.content.decode()
    assert "Garden &gt; Tools (75%)" in page
    assert reverse("admin:recommender_customersegment_export", args=["at_risk"]) in page
    changelist = admin_client.get(
        reverse("admin:recommender_customersegment_changelist")
    )
    assert reverse(OVERVIEW) in changelist.content.decode()


def test_overview_queries_do_not_grow_with_customers(admin_client, batch):
    def add_rows(n):
        for i in range(n):
            segment_row(batch, segment=["champions", "lost", "new"][i % 3])

    assert_queries_do_not_grow(admin_client, reverse(OVERVIEW), add_rows)


def test_export_lists_a_segments_customers_with_their_imported_id(admin_client, batch):
    imported = CustomerFactory(
        external_id="C-17", email="c17@example.com", profile__marketing_opt_in=True
    )
    segment_row(batch, imported, segment="at_risk", risk=0.91)
    segment_row(batch, segment="champions")
    old = served_segments_batch(state=ServedBatch.State.SUPERSEDED)
    segment_row(old, segment="at_risk")  # not served any more

    url = reverse("admin:recommender_customersegment_export", args=["at_risk"])
    rows = csv_rows(admin_client.get(url))

    assert rows == [
        ["customer_id", "username", "email", "segment", "churn_risk", "top_categories"],
        [
            "C-17",
            imported.username,
            "c17@example.com",
            "at_risk",
            "0.9100",
            "Garden > Tools; Kitchen",
        ],
    ]
    bad = reverse("admin:recommender_customersegment_export", args=["nobody"])
    assert admin_client.get(bad).status_code == 404


def test_export_action_writes_the_selected_rows(admin_client, batch):
    row = segment_row(batch)
    response = admin_client.post(
        reverse("admin:recommender_customersegment_changelist"),
        {"action": "export_csv", "_selected_action": [row.pk]},
    )
    rows = csv_rows(response)
    assert [r[0] for r in rows[1:]] == [str(row.customer_id)]


def test_customers_filter_by_current_segment(admin_client, batch):
    at_risk = segment_row(batch, segment="at_risk").customer
    segment_row(batch, segment="champions")
    old = served_segments_batch(state=ServedBatch.State.SUPERSEDED)
    segment_row(old, segment="at_risk")

    response = admin_client.get(
        reverse("admin:accounts_user_changelist"), {"segment": "at_risk"}
    )

    assert [u.pk for u in response.context["cl"].result_list] == [at_risk.pk]
    assert response.context["cl"].result_list[0].segment == "at_risk"


@pytest.mark.postgres
def test_customer_list_queries_do_not_grow_with_segments(admin_client, batch):
    def add_rows(n):
        for _ in range(n):
            segment_row(batch)

    url = reverse("admin:accounts_user_changelist")
    assert_queries_do_not_grow(admin_client, url, add_rows)


def test_customer_page_shows_segment_panel(admin_client, batch):
    customer = segment_row(batch, segment="at_risk", risk=0.42).customer
    url = reverse("admin:accounts_user_change", args=[customer.pk])

    queries, response = count_queries(admin_client, url)

    page = response.content.decode()
    assert "At risk" in page and "churn risk 42%" in page
    assert "Garden &gt; Tools (75%)" in page
    assert "No recommendations served." in page
    assert queries < 30
    idle = CustomerFactory()
    other = admin_client.get(reverse("admin:accounts_user_change", args=[idle.pk]))
    assert "No segment served yet." in other.content.decode()
