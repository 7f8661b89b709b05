"""The classification task: champion or nothing, bad pictures never fail a worker."""

import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.categorisation import CategoryPrediction, apply_predictions_bulk
from catalog.ml.images import decode_many
from catalog.models import Product
from catalog.services import product_image_add
from catalog.tasks import classify_products
from mlops import loader
from tests.admin_support import form_data, png_bytes
from tests.catalog.categorisation_support import image_version, leaf_categories
from tests.factories import ProductFactory
from tests.import_support import run_import, write_rows

pytestmark = pytest.mark.django_db


class ColourModel:
    """Stand-in for a loaded image champion: files a product by its picture's redness.

    It decodes pictures the way the real model does, so broken files fail here too.
    """

    def __init__(self, version, categories):
        self.version = version
        self.categories = categories
        self.calls: list[list[str]] = []

    def classify(self, products):
        self.calls.append([p.sku for p in products])
        raw = [p.images.order_by("position", "id")[0].image.read() for p in products]
        pictures = decode_many(raw, 16)
        predictions = []
        for product, picture in zip(products, pictures, strict=True):
            red = float(picture[..., 0].mean() / 255)
            top, other = self.categories[0], self.categories[1]
            predictions.append(
                CategoryPrediction(
                    product.pk,
                    [
                        {"category": top.pk, "confidence": red},
                        {"category": other.pk, "confidence": 1 - red},
                    ],
                    red,
                    0.5,
                )
            )
        apply_predictions_bulk(predictions, version=self.version)


@pytest.fixture
def leaves():
    return leaf_categories(2)


@pytest.fixture
def champion(leaves, monkeypatch):
    version = image_version(3, status="champion")
    model = ColourModel(version, leaves)
    monkeypatch.setattr(loader.champions, "get", lambda kind: (version, model))
    return model


def write_import(tmp_path):
    """Write a product file of one red product with a picture; return its path."""
    (tmp_path / "red.png").write_bytes(png_bytes(3))
    return write_rows(
        tmp_path / "p.csv",
        ["sku", "name", "category", "price", "image"],
        [["RED-1", "Red thing", "", "5", "red.png"]],
    )


def unfiled_with_image(seed: int) -> Product:
    product = ProductFactory(category=None, category_source="none")
    product_image_add(product=product, raw=png_bytes(seed))
    return product


def test_without_a_champion_nothing_is_loaded_or_classified(monkeypatch):
    product = unfiled_with_image(0)

    def refuse(kind):
        raise AssertionError("no model should be loaded")

    monkeypatch.setattr(loader.champions, "get", refuse)

    assert classify_products.delay([product.pk]).get() == 0
    assert Product.objects.get(pk=product.pk).auto_category_status == "none"


def test_the_champion_classifies_products_without_a_persons_category(champion, leaves):
    product = unfiled_with_image(0)
    operators = ProductFactory(category=leaves[1])

    assert classify_products.delay([product.pk, operators.pk, 10**9]).get() == 1

    product.refresh_from_db()
    assert (product.category, product.category_source) == (leaves[0], "automatic")
    assert champion.calls == [[product.sku]]


def test_a_broken_picture_is_logged_and_the_others_are_classified(
    champion, leaves, caplog
):
    good = unfiled_with_image(0)
    broken = unfiled_with_image(1)
    stored = broken.images.get().image
    with open(stored.path, "wb") as handle:  # damaged on disk after upload
        handle.write(png_bytes(1)[:40])

    with caplog.at_level(logging.WARNING, logger="catalog.categorisation"):
        classified = classify_products.delay([good.pk, broken.pk]).get()

    assert classified == 1
    assert Product.objects.get(pk=good.pk).auto_category_status == "auto_assigned"
    assert Product.objects.get(pk=broken.pk).auto_category_status == "none"
    assert f"Could not classify {broken.sku}" in caplog.text


def test_an_image_added_in_the_admin_is_classified_after_commit(
    admin_client, champion, leaves, django_capture_on_commit_callbacks
):
    product = ProductFactory(category=None, category_source="none")
    url = reverse("admin:catalog_product_change", args=[product.pk])
    data = form_data(admin_client.get(url), "product_form")
    data["images-0-upload"] = SimpleUploadedFile("red.png", png_bytes(2))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(url, data)

    assert response.status_code == 302
    assert len(callbacks) == 1
    assert Product.objects.get(pk=product.pk).category == leaves[0]


def test_imported_images_are_classified_after_commit(
    tmp_path, champion, leaves, django_capture_on_commit_callbacks
):
    path = write_import(tmp_path)

    with django_capture_on_commit_callbacks(execute=True):
        run_import("import_products", path)

    assert Product.objects.get(sku="RED-1").category == leaves[0]
    assert champion.calls == [["RED-1"]]


def test_no_task_is_queued_without_a_champion(
    tmp_path, django_capture_on_commit_callbacks
):
    path = write_import(tmp_path)

    with django_capture_on_commit_callbacks() as callbacks:
        run_import("import_products", path)

    assert callbacks == []
