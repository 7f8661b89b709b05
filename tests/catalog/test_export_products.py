"""export_products: one CSV row per product, streamed, category as a full path."""

import csv
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.services import category_get_or_create_by_path
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_export_writes_every_product_with_its_category_path(tmp_path):
    mugs = category_get_or_create_by_path("Home > Kitchen > Mugs")
    ProductFactory(sku="B-2", name="Blue mug", category=mugs)
    ProductFactory(sku="A-1", name="Loose tea", category=None, is_active=False)
    path = tmp_path / "products.csv"
    out = StringIO()

    call_command("export_products", str(path), stdout=out)

    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["sku", "name", "category", "auto_category", "auto_category_confidence",
         "auto_category_status"],
        ["A-1", "Loose tea", "", "", "", ""],
        ["B-2", "Blue mug", "Home > Kitchen > Mugs", "", "", ""],
    ]  # fmt: skip
    assert "Exported 2 products" in out.getvalue()


def test_export_query_count_does_not_grow_with_products(
    tmp_path, django_assert_max_num_queries
):
    ProductFactory.create_batch(30)

    with django_assert_max_num_queries(2):
        call_command("export_products", str(tmp_path / "p.csv"), stdout=StringIO())


def test_export_to_a_missing_folder_fails(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_products", str(tmp_path / "no" / "p.csv"))
