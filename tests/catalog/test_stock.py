"""The stock ledger: its sum is the on-hand quantity, which is never negative."""

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from catalog.models import Product, StockMovement
from catalog.services import InsufficientStock, stock_record_movement
from tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_ledger_sum_is_on_hand():
    product = ProductFactory(stock=10)
    stock_record_movement(product=product, kind=StockMovement.Kind.SALE, quantity=3)
    stock_record_movement(product=product, kind=StockMovement.Kind.RETURN, quantity=1)
    stock_record_movement(
        product=product, kind=StockMovement.Kind.ADJUSTMENT, quantity=-2
    )

    product.refresh_from_db()
    ledger = list(
        product.stock_movements.order_by("id").values_list("quantity", "balance_after")
    )
    assert ledger == [(10, 10), (-3, 7), (1, 8), (-2, 6)]
    assert product.stock_on_hand == 6 == sum(q for q, _ in ledger)


def test_movement_that_would_go_negative_is_refused_and_not_written():
    product = ProductFactory(stock=2)
    with pytest.raises(InsufficientStock) as refused:
        stock_record_movement(
            product=product, kind=StockMovement.Kind.ADJUSTMENT, quantity=-3
        )
    assert refused.value.available == 2
    product.refresh_from_db()
    assert product.stock_on_hand == 2
    assert product.stock_movements.count() == 1


def test_database_refuses_negative_stock_even_bypassing_the_service():
    product = ProductFactory(stock=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(
            stock_on_hand=F("stock_on_hand") - 2
        )


@pytest.mark.parametrize(
    "kind, quantity",
    [("restock", -1), ("return", -2), ("sale", 1), ("adjustment", 0)],
)
def test_database_refuses_ledger_rows_whose_sign_contradicts_their_kind(kind, quantity):
    product = ProductFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMovement.objects.create(
            product=product,
            kind=kind,
            quantity=quantity,
            balance_after=5,
            occurred_at="2025-01-01T00:00Z",
        )
