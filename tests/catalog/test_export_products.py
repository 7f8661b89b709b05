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


def test_export_fills_the_automatic_category_columns(tmp_path):
    from catalog.categorisation import apply_prediction
    from tests.catalog.categorisation_support import (
        image_version,
        leaf_categories,
        suggestions,
    )

    leaves = leaf_categories(3)
    product = ProductFactory(sku="S-1", name="Shirt", category=None)
    apply_prediction(
        product=product,
        suggestions=suggestions(leaves, [0.97312, 0.02, 0.00688]),
        confidence=0.97312,
        version=image_version(),
        threshold=0.9,
    )
    path = tmp_path / "products.csv"

    call_command("export_products", str(path), stdout=StringIO())

    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[1] == [
        "S-1", "Shirt", "Clothing > Leaf 0", "Clothing > Leaf 0", "0.9731",
        "auto_assigned",
    ]  # fmt: skip
