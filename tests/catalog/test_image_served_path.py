"""Import → train image → infer image → export, with the names replaced by codes of
several shapes and by nothing: the picture decides, with the served thresholds."""

import csv
import json

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from catalog.models import Product
from tests.catalog.ml.synthetic import products as synthetic_products

pytestmark = pytest.mark.django_db(transaction=True)

TINY = {"image_size": 16, "epochs": 4, "batch_size": 16, "widths": [8, 16]}
LEAVES = ["Clothing > Shirts", "Clothing > Shoes", "Bags > Totes"]
CODES = {
    "IMG-18653": lambda i: f"IMG-{18000 + i}",
    "A7-33-XK": lambda i: f"A{i % 10}-{i:02d}-XK",
    "0004512": lambda i: f"{4500 + i:07d}",
    "SKU_ab12": lambda i: f"SKU_ab{i}",
}


def write_products(folder, rows):
    with (folder / "products.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["sku", "name", "category", "price", "image"])
        out.writerows(rows)
    return folder / "products.csv"


def exported(folder) -> dict[str, dict]:
    call_command("export_products", str(folder / "export.csv"), verbosity=0)
    with (folder / "export.csv").open(newline="") as handle:
        return {row["sku"]: row for row in csv.DictReader(handle)}


def test_code_names_and_no_names_are_classified_from_the_picture(tmp_path, settings):
    settings.CATEGORY_TARGET_PRECISION = 0.9
    images, titles, labels = synthetic_products(130, seed=4)
    for i, pixels in enumerate(images):
        Image.fromarray(pixels).resize((48, 48)).save(tmp_path / f"{i}.png")
    labelled = [
        (f"L-{i}", titles[i], LEAVES[labels[i]], "9.00", f"{i}.png") for i in range(100)
    ]
    call_command(
        "import_products", str(write_products(tmp_path, labelled)), verbosity=0
    )
    call_command("train", "image", "--wait", "--options", json.dumps(TINY))
    held = range(100, 130)
    truth = {f"H-{i}": LEAVES[labels[i]] for i in held}

    for naming, code in [("real", None), *CODES.items(), ("empty", "")]:
        if code == "":
            Product.objects.filter(sku__in=list(truth)).update(name="")
        else:
            rows = [
                (
                    f"H-{i}",
                    titles[i] if code is None else code(i),
                    "",
                    "9.00",
                    f"{i}.png",
                )
                for i in held
            ]
            call_command(
                "import_products", str(write_products(tmp_path, rows)), verbosity=0
            )
        call_command("infer", "image", "--wait")
        rows = exported(tmp_path)
        right = [rows[sku]["auto_category"] == path for sku, path in truth.items()]
        filed = [
            rows[sku]["auto_category"] == path
            for sku, path in truth.items()
            if rows[sku]["auto_category_status"] == "auto_assigned"
        ]
        assert np.mean(right) >= 0.9, naming  # the picture tells the shapes apart
        assert all(filed), naming  # nothing wrong is filed automatically
        assert len(filed) >= len(truth) // 2, naming
    queued = Product.objects.filter(
        sku__in=list(truth), auto_category_status="needs_review"
    )
    assert all(product.auto_category_reason for product in queued)
