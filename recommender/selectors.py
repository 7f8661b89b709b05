"""Reads for the recommender: training data and served lists."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, date

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.db.models.functions import TruncDate

from catalog.models import Product
from mlops.models import ModelKind, ServedBatch
from orders.models import Order, OrderLine

from .ml.protocol import Interactions
from .models import Recommendation


@dataclass(frozen=True)
class PurchaseFrame:
    """Purchases as model-ready arrays plus the maps back to database ids."""

    interactions: Interactions
    customer_ids: np.ndarray  # index -> user pk
    product_ids: np.ndarray  # index -> product pk
    product_category: np.ndarray  # item index -> category index
    category_ids: np.ndarray  # category index -> category pk (0 = none)
    epoch: date

    def fingerprint(self) -> dict:
        data = self.interactions
        digest = hashlib.sha256()
        for array in (data.user, data.item, data.day):
            digest.update(np.ascontiguousarray(array).tobytes())
        first = int(data.day.min()) if len(data.day) else 0
        last = int(data.day.max()) if len(data.day) else 0
        return {
            "rows": int(len(data.user)),
            "customers": int(data.n_users),
            "products": int(data.n_items),
            "date_range": [
                str(np.datetime64(self.epoch) + np.timedelta64(first, "D")),
                str(np.datetime64(self.epoch) + np.timedelta64(last, "D")),
            ],
            "sha256": digest.hexdigest(),
        }


def catalogue_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (product pks, category index per product, category pks) of the catalogue."""
    rows = list(Product.objects.order_by("pk").values_list("pk", "category_id"))
    product_ids = np.array([pk for pk, _ in rows], dtype=np.int64)
    category_ids = np.array(sorted({c or 0 for _, c in rows}) or [0], dtype=np.int64)
    category_index = {c: i for i, c in enumerate(category_ids.tolist())}
    product_category = np.array(
        [category_index[c or 0] for _, c in rows], dtype=np.int64
    )
    return product_ids, product_category, category_ids


def purchase_frame(*, customer_ids: list[int] | None = None) -> PurchaseFrame:
    """Return every customer's purchases in time order (sale orders with a customer)."""
    product_ids, product_category, category_ids = catalogue_arrays()
    lines = OrderLine.objects.filter(
        order__kind=Order.Kind.SALE, order__customer__isnull=False
    ).exclude(order__status=Order.Status.CANCELLED)
    if customer_ids is not None:
        lines = lines.filter(order__customer_id__in=customer_ids)
    # The UTC date comes from the database: loading aware datetimes costs ~20 µs a row.
    rows = list(
        lines.annotate(placed_on=TruncDate("order__placed_at", tzinfo=UTC))
        .order_by("order__placed_at", "order_id", "line_number")
        .values_list("order__customer_id", "product_id", "placed_on")
    )
    count = len(rows)
    customer = np.fromiter((r[0] for r in rows), dtype=np.int64, count=count)
    product = np.fromiter((r[1] for r in rows), dtype=np.int64, count=count)
    ordinal = np.fromiter((r[2].toordinal() for r in rows), dtype=np.int64, count=count)
    epoch = date.fromordinal(int(ordinal.min())) if count else date(2000, 1, 1)
    users = np.unique(customer)
    data = Interactions(
        user=np.searchsorted(users, customer).astype(np.int64),
        item=np.searchsorted(product_ids, product).astype(np.int64),
        day=ordinal - epoch.toordinal(),
        n_users=len(users),
        n_items=len(product_ids),
    )
    return PurchaseFrame(
        data, users, product_ids, product_category, category_ids, epoch
    )


def customers_to_score() -> list[int]:
    """Return the pks of every customer who gets a "for you" list (not staff)."""
    return list(
        get_user_model()
        .objects.filter(is_staff=False, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def active_batch_id(kind: str = ModelKind.RECOMMENDER) -> int | None:
    return (
        ServedBatch.objects.filter(kind=kind, state=ServedBatch.State.ACTIVE)
        .values_list("pk", flat=True)
        .first()
    )


def recommendations_for(customer, *, limit: int = 20) -> QuerySet[Recommendation]:
    """Return a customer's served "for you" list: active batch, sellable products only."""
    batch_id = active_batch_id()
    return (
        Recommendation.objects.filter(batch_id=batch_id, customer=customer)
        .filter(product__is_active=True)
        .filter(Q(product__stock_tracked=False) | Q(product__stock_on_hand__gt=0))
        .select_related("product", "product__category")
        .order_by("rank")[:limit]
    )
