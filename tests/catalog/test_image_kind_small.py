"""The `image` kind on small catalogues: it learns what it can, or says what it lacks."""

import io

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from catalog.services import product_image_add
from mlops.models import ModelVersion, Run
from mlops.runs import run_request
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

TINY = {"image_size": 16, "epochs": 2, "batch_size": 16, "widths": [8, 16]}


def picture(leaf: int, seed: int) -> bytes:
    """A square whose colour tells its leaf, on white, jittered."""
    rng = np.random.default_rng(seed)
    pixels = np.full((24, 24, 3), 255, dtype=np.uint8)
    colour = np.array([(leaf * 53) % 256, (leaf * 97) % 256, (leaf * 29) % 256])
    top, left = rng.integers(0, 8, 2)
    pixels[top : top + 14, left : left + 14] = colour
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def small_shop(per_leaf: list[int]) -> None:
    """Leaves under four parents, each with this many products labelled by a person."""
    parents = [CategoryFactory(name=f"Department {i}") for i in range(4)]
    sku = 0
    for leaf, count in enumerate(per_leaf):
        category = CategoryFactory(parent=parents[leaf % 4], name=f"Leaf {leaf}")
        for _ in range(count):
            product = ProductFactory(
                sku=f"SKU-{sku}",
                name=f"item {sku}",
                category=category,
                category_source="operator",
            )
            product_image_add(product=product, raw=picture(leaf, sku))
            sku += 1


def test_eighty_products_in_forty_leaves_say_what_is_missing():
    small_shop([2] * 40)
    run = run_request(kind="image", type=Run.Type.TRAIN, options=TINY)
    run.refresh_from_db()
    assert run.state == Run.State.FAILED
    assert run.message.startswith("RunRefused: Not enough labelled products")
    assert "each category needs 3 or more" in run.message
    assert "'Department 0 > Leaf 0': 2" in run.message
    assert "ValueError" not in run.error
    assert not ModelVersion.objects.exists()


def test_the_categories_with_enough_products_are_learnt():
    small_shop([4] * 10 + [1] * 30 + [2] * 5)  # 80 products in 45 leaves
    run = run_request(kind="image", type=Run.Type.TRAIN, options=TINY)
    run.refresh_from_db()
    assert run.state == Run.State.SUCCEEDED, run.error
    version = ModelVersion.objects.get(run=run)
    assert version.protocol["categories"] == 10
    left_out = version.protocol["left_out"]
    assert left_out["needs_per_category"] == 3
    assert len(left_out["categories"]) == 35
    assert "categories left out" in run.log


def test_train_all_reports_the_image_kind_and_does_not_fail(capsys):
    small_shop([2] * 40)
    call_command("train", "all", "--wait", "--options", '{"epochs": 1}')
    out = capsys.readouterr().out
    assert "image: not trained — RunRefused: Not enough labelled products" in out
