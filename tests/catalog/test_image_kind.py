"""The `image` kind through the platform: train on labelled products, classify others."""

import io
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.db.models import F
from PIL import Image

from catalog.models import Product, ProductImageEmbedding, VisuallySimilarProduct
from catalog.services import product_image_add
from catalog.tasks import classify_products
from mlops.models import ModelVersion, Run
from mlops.runs import run_request
from tests.catalog.ml.synthetic import products as synthetic_products
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

TINY = {"image_size": 16, "epochs": 3, "batch_size": 16, "widths": [8, 16]}


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).resize((48, 48)).save(buffer, "PNG")
    return buffer.getvalue()


def build_catalogue(labelled=90, unlabelled=12):
    """Three leaves under two parents; most products labelled by a person."""
    clothing, bags = CategoryFactory(name="Clothing"), CategoryFactory(name="Bags")
    leaves = [
        CategoryFactory(parent=clothing, name="Shirts"),
        CategoryFactory(parent=clothing, name="Shoes"),
        CategoryFactory(parent=bags, name="Totes"),
    ]
    images, titles, labels = synthetic_products(labelled + unlabelled, seed=4)
    made = []
    for i, (pixels, title, label) in enumerate(
        zip(images, titles, labels, strict=True)
    ):
        person = i < labelled
        product = ProductFactory(
            sku=f"IMG-{i}",
            name=title,
            category=leaves[label] if person else None,
            category_source="operator" if person else "none",
        )
        product_image_add(product=product, raw=png(pixels))
        made.append((product, leaves[label]))
    return made[labelled:]


def run(type_, **options):
    created = run_request(kind="image", type=type_, options=options)
    created.refresh_from_db()
    assert created.state == Run.State.SUCCEEDED, created.error
    return created


def test_image_kind_measures_baselines_and_files_new_products(db, settings):
    settings.CATEGORY_TARGET_PRECISION = 0.9
    unlabelled = build_catalogue()
    version = ModelVersion.objects.get(run=run(Run.Type.TRAIN, **TINY))
    assert version.algorithm == "image+title+tfidf+features"
    # measured alone
    assert set(version.protocol["components"]) == {
        "image-title",
        "image-features",
        "image-cnn",
    }
    # measured with the names hidden too, the picture alone deciding
    assert version.metrics["unnamed_accuracy"] >= 0.9
    assert version.baselines["title-tfidf"]["unnamed_accuracy"] < 0.6
    assert "accuracy_all_kinds" in version.metrics
    assert set(version.hyperparameters["review_rules"]["entropy"]) == {
        "named",
        "unnamed",
    }
    assert 0 <= version.hyperparameters["network_weight"] <= 1
    assert 0 <= version.hyperparameters["image_features_share"] <= 1
    assert {"accuracy", "macro_f1", "auto_assign_rate", "parent_accuracy"} <= set(
        version.metrics
    )
    assert set(version.baselines) == {"majority", "title-tfidf"}
    assert version.baselines["majority"]["accuracy"] < 0.6
    assert version.protocol["categories"] == 3
    assert set(version.protocol["per_class"]) == {
        "Clothing > Shirts",
        "Clothing > Shoes",
        "Bags > Totes",
    }
    champion = ModelVersion.objects.get(kind="image", status="champion")
    assert champion.metrics["accuracy"] >= 0.9  # the classes are easy to tell apart
    report = StringIO()
    call_command("model_report", "--kind", "image", stdout=report)
    assert "    baseline title-tfidf: " in report.getvalue()
    assert "    component image-cnn: " in report.getvalue()  # the picture alone

    run(Run.Type.INFER)
    filed = 0
    for product, truth in unlabelled:
        product.refresh_from_db()
        assert product.auto_category_status in {"auto_assigned", "needs_review"}
        assert product.auto_category_version == champion
        assert len(product.auto_category_suggestions) == 3
        if product.auto_category_status == "auto_assigned":
            filed += 1
            assert product.category == truth
            assert product.category_source == "automatic"
            assert product.auto_category_reason == ""
        else:
            assert product.auto_category_reason  # why it waits for a person
    assert filed >= len(unlabelled) // 2
    # a person's category is never overwritten
    assert Product.objects.filter(category_source="operator").count() == 90
    # … and the model's view of it is stored beside it, for the product page
    operators = Product.objects.filter(category_source="operator")
    assert not operators.filter(auto_category__isnull=True).exists()
    assert operators.filter(auto_category=F("category")).count() >= 80

    # Every picture is embedded, a person's products' too, and listed by its looks.
    embedded = ProductImageEmbedding.objects.filter(model_version=champion)
    assert embedded.count() == 102
    class_of = {
        p.pk: p.category_id for p in Product.objects.filter(category__isnull=False)
    }
    class_of |= {product.pk: truth.pk for product, truth in unlabelled}
    firsts = VisuallySimilarProduct.objects.filter(rank=1)
    assert firsts.count() == 102
    assert VisuallySimilarProduct.objects.filter(product=unlabelled[0][0]).count() == 20
    alike = np.mean([class_of[r.product_id] == class_of[r.similar_id] for r in firsts])
    assert alike >= 0.8  # shapes of one colour per class: pictures tell them apart

    # An uploaded product filed by a person is embedded and listed at once.
    images, titles, labels = synthetic_products(1, seed=9)
    shirt = Product.objects.filter(category__isnull=False).first().category
    added = ProductFactory(sku="IMG-NEW", category=shirt, category_source="operator")
    product_image_add(product=added, raw=png(images[0]))
    assert classify_products.delay([added.pk]).get() == 0  # a person filed it
    assert ProductImageEmbedding.objects.get(product=added).model_version == champion
    assert VisuallySimilarProduct.objects.filter(product=added).count() == 20


def test_training_without_labelled_pictures_is_refused(db):
    created = run_request(kind="image", type=Run.Type.TRAIN, options={})
    created.refresh_from_db()
    assert created.state == Run.State.FAILED
    assert "Not enough categorised products" in created.error
