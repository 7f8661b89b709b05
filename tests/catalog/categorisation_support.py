"""Helpers for the automatic-category tests: an image model version, predictions."""

from django.utils import timezone

from catalog.categorisation import CategoryPrediction, apply_predictions_bulk
from catalog.models import Category, Product, VisuallySimilarProduct
from mlops.models import ModelVersion
from tests.factories import CategoryFactory, ProductFactory


def image_version(number: int = 1, status: str = "challenger") -> ModelVersion:
    return ModelVersion.objects.create(
        kind="image",
        version=number,
        algorithm="image-title-cnn",
        status=status,
        trained_at=timezone.now(),
    )


def leaf_categories(n: int = 3) -> list[Category]:
    """Return `n` leaves under one root, e.g. Clothing > Shirts."""
    root = CategoryFactory(name="Clothing")
    return [CategoryFactory(parent=root, name=f"Leaf {i}") for i in range(n)]


def suggestions(categories: list[Category], confidences: list[float]) -> list[dict]:
    return [
        {"category": c.pk, "confidence": p}
        for c, p in zip(categories, confidences, strict=True)
    ]


def queued_product(
    categories: list[Category], version: ModelVersion, **product_fields
) -> Product:
    """Return a product without a category that the model sent to review."""
    product = ProductFactory(category=None, category_source="none", **product_fields)
    apply_predictions_bulk(
        [
            CategoryPrediction(
                product_id=product.pk,
                suggestions=suggestions(categories, [0.6, 0.3, 0.1]),
                confidence=0.6,
                threshold=0.9,
            )
        ],
        version=version,
    )
    product.refresh_from_db()
    return product


def look_alike(product: Product, others: list[Product]) -> None:
    """Serve `others` as the products whose pictures look like `product`'s."""
    version = ModelVersion.objects.filter(kind="image").first() or image_version()
    VisuallySimilarProduct.objects.bulk_create(
        VisuallySimilarProduct(
            product=product,
            rank=rank,
            similar=other,
            score=1.0 - rank / 100,
            model_version=version,
        )
        for rank, other in enumerate(others, start=1)
    )
