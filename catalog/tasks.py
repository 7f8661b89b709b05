"""Celery tasks of the catalogue: thin, take ids, safe to run again."""

from collections.abc import Iterable

from celery import shared_task
from django.db import OperationalError, transaction

from . import categorisation


@shared_task(
    name="catalog.tasks.classify_products",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def classify_products(product_ids: list[int]) -> int:
    """Classify the products with the image champion; return how many were."""
    return categorisation.products_classify(product_ids=product_ids)


def classify_products_on_commit(product_ids: Iterable[int]) -> None:
    """Queue classification of products once the current transaction commits.

    Nothing is queued while no image model is champion.
    """
    ids = sorted(set(product_ids))
    if ids and categorisation.image_champion_exists():
        transaction.on_commit(lambda: classify_products.delay(ids))
