"""export_recommendations: the served lists as customers see them, as CSV."""

import csv

import pytest
from django.core.management import CommandError, call_command

from recommender.models import RecommendationRule
from tests.factories import CustomerFactory, ProductFactory
from tests.recommender.serving_support import serve_for

pytestmark = pytest.mark.django_db


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_export_writes_served_lists_with_rules_applied(tmp_path):
    imported = CustomerFactory(external_id="C-17")
    native = CustomerFactory()
    a, b, c = (ProductFactory(sku=s, stock_tracked=False) for s in ("A", "B", "C"))
    hidden = ProductFactory(sku="GONE", is_active=False)
    serve_for(imported, [a, hidden, b])
    serve_for(native, [c])
    RecommendationRule.objects.create(action="exclude", product=b)

    call_command("export_recommendations", str(tmp_path / "r.csv"))

    rows = read(tmp_path / "r.csv")
    assert [(r["customer_id"], r["rank"], r["sku"]) for r in rows] == [
        ("C-17", "1", "A"),
        (str(native.pk), "1", "C"),
    ]
    assert list(rows[0]) == ["customer_id", "rank", "sku", "score", "reason"]
    assert rows[0]["reason"] == "because 1"


def test_export_without_served_lists_writes_only_the_header(tmp_path):
    call_command("export_recommendations", str(tmp_path / "r.csv"))
    assert read(tmp_path / "r.csv") == []


def test_export_to_a_missing_folder_fails(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_recommendations", str(tmp_path / "no" / "r.csv"))
