"""Exports: campaign files only of customers who opted in; no cell a spreadsheet runs."""

import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from ecomsite import csvsafe
from recommender.models import CustomerSegment
from tests.factories import CustomerFactory, ProductFactory
from tests.recommender.segment_support import segment_row, served_segments_batch

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("=1+1", "'=1+1"),
        ("=1+1@example.com", "'=1+1@example.com"),
        ("+33 1 23", "'+33 1 23"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.50", "-12.50"),  # a number, not a formula
        ("+3", "+3"),
        ("1e-3", "1e-3"),
        ("Blue mug", "Blue mug"),
        ("", ""),
        (-3, -3),
        (None, None),
    ],
)
def test_formula_cells_are_neutralised_and_numbers_kept(cell, expected):
    assert csvsafe.neutralise(cell) == expected


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def streamed(response) -> list[list[str]]:
    return read_csv(b"".join(response.streaming_content).decode())


def test_campaign_exports_list_only_customers_who_opted_in(admin_client, staff_client):
    batch = served_segments_batch()
    keen = segment_row(batch, CustomerFactory(profile__marketing_opt_in=True))
    segment_row(batch, CustomerFactory(profile__marketing_opt_in=False))
    segment_row(batch, CustomerFactory(profile=None))  # no profile: no consent
    exports = [
        admin_client.get(
            reverse("admin:recommender_customersegment_export", args=["champions"])
        ),
        staff_client.get(reverse("api-segment-export", args=["champions"])),
        admin_client.post(
            reverse("admin:recommender_customersegment_changelist"),
            {
                "action": "export_csv",
                "_selected_action": [
                    row.pk for row in CustomerSegment.objects.filter(batch=batch)
                ],
            },
        ),
    ]

    for response in exports:
        rows = streamed(response)
        assert [row[2] for row in rows[1:]] == [keen.customer.email], rows


def test_a_customer_named_as_a_formula_reaches_the_export_as_text(
    admin_client, customer_client, customer
):
    customer.profile.marketing_opt_in = True
    customer.profile.save()
    response = customer_client.patch(
        reverse("api-me"),
        {"email": "=1+1@example.com", "first_name": "@SUM(A1)"},
        format="json",
    )
    assert response.status_code == 200
    segment_row(served_segments_batch(), customer)

    rows = streamed(
        admin_client.get(
            reverse("admin:recommender_customersegment_export", args=["champions"])
        )
    )

    assert rows[1][2] == "'=1+1@example.com"


def test_file_exports_neutralise_formulas(tmp_path):
    ProductFactory(sku='=HYPERLINK("http://x")', name="+danger", category=None)
    path = tmp_path / "products.csv"

    call_command("export_products", str(path), stdout=io.StringIO())

    rows = read_csv(path.read_text(encoding="utf-8"))
    assert rows[1][:2] == ['\'=HYPERLINK("http://x")', "'+danger"]
