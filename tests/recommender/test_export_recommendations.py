"""export_recommendations: the served lists as customers see them, as CSV."""

import csv

import pytest
from django.core.management import CommandError, call_command

from mlops.dashboard.health import model_health
from mlops.models import ModelVersion
from recommender.models import RecommendationRule
from recommender.selectors import served_rows_filtered
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


def test_export_says_why_when_filters_remove_most_rows(tmp_path, capsys):
    customer = CustomerFactory()
    shelf = [ProductFactory(stock_tracked=True) for _ in range(3)]  # nothing on hand
    batch = serve_for(customer, [*shelf, ProductFactory(stock_tracked=False)])
    ModelVersion.objects.filter(pk=batch.model_version_id).update(status="champion")

    call_command("export_recommendations", str(tmp_path / "r.csv"))

    assert len(read(tmp_path / "r.csv")) == 1
    warning = capsys.readouterr().err
    assert "remove 3 of 4 served" in warning and "3 out of stock" in warning
    call_command("model_report", "--kind", "recommender")
    assert "WARNING: Serve-time filters remove 3 of 4" in capsys.readouterr().out
    health = {h.kind: h for h in model_health()}["recommender"]
    assert "3 out of stock" in health.serving_note


def test_export_says_when_nothing_is_served_yet(tmp_path, capsys):
    call_command("export_recommendations", str(tmp_path / "r.csv"))
    assert "run `train recommender` and `infer recommender`" in capsys.readouterr().err


def test_a_few_filtered_rows_raise_no_warning():
    customer = CustomerFactory()
    products = [ProductFactory(stock_tracked=False) for _ in range(3)]
    serve_for(customer, [*products, ProductFactory(is_active=False)])
    filtered = served_rows_filtered()
    assert (filtered.rows, filtered.inactive, filtered.note()) == (4, 1, "")


def test_inference_run_message_says_when_most_rows_will_be_filtered():
    from recommender.mlkind import RecommenderKind

    batch = serve_for(CustomerFactory(), [ProductFactory(stock_tracked=True)])
    note = RecommenderKind().on_activated(batch.pk, None)
    assert note.startswith("Serve-time filters remove 1 of 1 served")
