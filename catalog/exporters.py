"""Export the catalogue as CSV for other tools."""

from pathlib import Path
from typing import TextIO

from ecomsite import csvsafe
from ecomsite.exporting import write_atomically

from .models import Product

PRODUCT_COLUMNS = [
    "sku",
    "name",
    "category",
    "auto_category",
    "auto_category_confidence",
    "auto_category_status",
]
EXPORT_CHUNK_SIZE = 2000


def export_products(out: TextIO) -> int:
    """Write every product as a CSV row to `out`; return how many were written.

    Rows are streamed from the database in chunks; the category paths come from the
    same query. `auto_category` is the image model's top suggestion, with its
    confidence (4 decimals) and status; all three are empty until the model has
    spoken.
    """
    writer = csvsafe.writer(out)
    writer.writerow(PRODUCT_COLUMNS)
    count = 0
    rows = (
        Product.objects.order_by("sku")
        .values_list(
            "sku",
            "name",
            "category__path",
            "auto_category__path",
            "auto_category_confidence",
            "auto_category_status",
        )
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )
    for sku, name, category_path, auto_path, confidence, status in rows:
        writer.writerow(
            [
                sku,
                name,
                category_path or "",
                auto_path or "",
                "" if confidence is None else f"{confidence:.4f}",
                "" if status == Product.AutoCategoryStatus.NONE else status,
            ]
        )
        count += 1
    return count


def export_products_to_file(path: Path) -> int:
    """Write the product CSV to `path` (through a temporary file, then renamed)."""
    return write_atomically(path, export_products)
