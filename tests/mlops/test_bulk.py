"""Bulk writes of served rows: column by column, COPY text escaped on PostgreSQL."""

import numpy as np
import pytest

from catalog.models import Product
from mlops.bulk import Labels, bulk_insert, bulk_writer, pk_in
from recommender.models import Recommendation
from tests.factories import ProductFactory
from tests.recommender.serving_support import served_batch

pytestmark = pytest.mark.django_db

AWKWARD = ["tab\there", "new\nline", "back\\slash \\N", "cr\rx", "plain", ""]


def served(batch) -> list[tuple]:
    return list(
        Recommendation.objects.filter(batch=batch)
        .order_by("rank")
        .values_list("customer_id", "rank", "product_id", "score", "reason")
    )


def test_column_writer_stores_numbers_labels_and_scalars_exactly(customer):
    product = ProductFactory()
    batch = served_batch()
    scores = np.array([0.1, 1 / 3, -2.5e-8, 1e300, 7.0, 0.0])
    with bulk_writer(
        Recommendation, ["batch", "customer", "rank", "product", "score", "reason"]
    ) as writer:
        writer.write(
            batch.pk,
            np.full(3, customer.pk),
            np.arange(1, 4),
            np.full(3, product.pk),
            scores[:3],
            Labels(np.array([0, 1, 2]), AWKWARD[:3]),
        )
        writer.write(  # a second block in the same COPY
            batch.pk,
            np.full(3, customer.pk),
            np.arange(4, 7),
            np.full(3, product.pk),
            scores[3:],
            Labels(np.array([2, 0, 1]), AWKWARD[3:]),
        )
        writer.write(batch.pk, np.zeros(0, np.int64), *[np.zeros(0)] * 3, "x")
    assert writer.count == 6
    reasons = [AWKWARD[i] for i in (0, 1, 2, 5, 3, 4)]
    assert served(batch) == [
        (customer.pk, rank, product.pk, float(score), reason)
        for rank, score, reason in zip(range(1, 7), scores, reasons, strict=True)
    ]


def test_bulk_insert_writes_rows(customer):
    product = ProductFactory()
    batch = served_batch()
    rows = [(batch.pk, customer.pk, 1, product.pk, 0.5, AWKWARD[0])]
    fields = ["batch", "customer", "rank", "product", "score", "reason"]
    assert bulk_insert(Recommendation, fields, rows) == 1
    assert served(batch) == [(customer.pk, 1, product.pk, 0.5, AWKWARD[0])]


def test_a_column_count_mismatch_is_refused():
    with (
        bulk_writer(Recommendation, ["batch", "rank"]) as writer,
        pytest.raises(ValueError),
    ):
        writer.write(1, np.arange(2), np.arange(2))


def test_pk_in_matches_long_and_short_id_lists():
    products = [ProductFactory() for _ in range(3)]
    wanted = [products[0].pk, products[2].pk]
    for ids in (wanted, wanted + list(range(10**6, 10**6 + 500))):
        found = Product.objects.filter(**pk_in("pk", ids))
        assert sorted(found.values_list("pk", flat=True)) == wanted
