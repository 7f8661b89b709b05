"""Reads for the recommender: training data and served lists."""

from dataclasses import dataclass, replace

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import CharField, Count, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf

from catalog.models import CATEGORY_PATH_SEPARATOR, Product, ProductImage
from mlops.models import ModelKind, ServedBatch

from . import served_rows
from .models import ProductRecommendation, Recommendation, RecommendationRule


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


# --- Served lists ----------------------------------------------------------------

PINNED_REASON = "Recommended by the shop"
# Batch inference marks the products it lets through to customers who bought them,
# where repeat purchases are the norm; serving keeps them although bought.
BUY_AGAIN_REASON = "You buy this regularly"
PIN, EXCLUDE = RecommendationRule.Action.PIN, RecommendationRule.Action.EXCLUDE
MAX_CANDIDATES = 200  # served rows read per list; batch inference writes 20


@dataclass
class ServedItem:
    """One entry of a list as customers see it, after serve-time filters and rules."""

    product: Product
    rank: int
    score: float | None
    reason: str
    batch_id: int | None = None
    image_name: str | None = None  # the product's first picture (thumbnail if made)

    @property
    def product_id(self) -> int:
        return self.product.pk


@dataclass(frozen=True)
class ServingRules:
    """The operator's active rules: excluded products and categories, and pins."""

    excluded_product_ids: frozenset[int] = frozenset()
    excluded_category_paths: tuple[str, ...] = ()
    pins: tuple[tuple[int, ServedItem], ...] = ()  # (position, pinned product)

    def excludes(self, product: Product) -> bool:
        if product.pk in self.excluded_product_ids:
            return True
        path = product.category.path if product.category_id else None
        return path is not None and any(
            path == excluded or path.startswith(excluded + CATEGORY_PATH_SEPARATOR)
            for excluded in self.excluded_category_paths
        )


def is_sellable(product: Product) -> bool:
    """Return whether a product may be shown: active and not out of stock."""
    return product.is_active and not product.is_out_of_stock


def apply_serving_rules(
    candidates: list[ServedItem],
    *,
    rules: ServingRules,
    bought: frozenset[int] | set[int] = frozenset(),
    pin: bool = False,
    limit: int = 20,
) -> list[ServedItem]:
    """Return the list customers see: filter, insert pins, renumber ranks 1..n.

    Left out: unsellable products, products the rules exclude and products in
    `bought` (unless batch inference marked them `BUY_AGAIN_REASON`). With `pin`, each pinned product that passes the same filters takes its
    position (ties in rule order), moving the others down and never appearing twice.
    """

    def shown(product: Product, reason: str = "") -> bool:
        return (
            is_sellable(product)
            and not rules.excludes(product)
            and (product.pk not in bought or reason == BUY_AGAIN_REASON)
        )

    pins = [(p, item) for p, item in rules.pins if pin and shown(item.product)]
    pinned_ids = {item.product.pk for _, item in pins}
    items = [
        item
        for item in candidates
        if shown(item.product, item.reason) and item.product.pk not in pinned_ids
    ]
    last, inserted = -1, set()
    for position, item in sorted(pins, key=lambda pair: pair[0]):
        if item.product.pk in inserted:
            continue  # two rules pin the same product: the first position wins
        inserted.add(item.product.pk)
        index = min(max(position - 1, last + 1), len(items))
        items.insert(index, item)
        last = index
    return [
        replace(item, rank=rank) for rank, item in enumerate(items[:limit], start=1)
    ]


def first_image_name(product_ref: str) -> Subquery:
    """Return the file name of a product's first picture (its thumbnail if made)."""
    images = ProductImage.objects.filter(product=OuterRef(product_ref)).order_by(
        "position", "id"
    )
    text = CharField()
    name = Coalesce(
        NullIf("thumbnail", Value(""), output_field=text), "image", output_field=text
    )
    return Subquery(images.annotate(name=name).values("name")[:1])


def serving_rules() -> ServingRules:
    """Return the active operator rules (one query)."""
    excluded_products, excluded_paths, pins = set(), [], []
    rules = served_rows.active_rules()
    for action, product, image_name, category_path, position in rules:
        if action == EXCLUDE:
            if product is not None:
                excluded_products.add(product.pk)
            elif category_path:
                excluded_paths.append(category_path)
        elif action == PIN and product is not None:
            item = ServedItem(
                product=product,
                rank=position,
                score=None,
                reason=PINNED_REASON,
                image_name=image_name,
            )
            pins.append((position, item))
    return ServingRules(
        excluded_product_ids=frozenset(excluded_products),
        excluded_category_paths=tuple(excluded_paths),
        pins=tuple(pins),
    )


def active_recommender_batches() -> QuerySet[ServedBatch]:
    # A subquery, not a separate read: the rows and the batch they come from are
    # read in one statement, so a batch swap in between cannot mix two sets.
    return ServedBatch.objects.filter(
        kind=ModelKind.RECOMMENDER, state=ServedBatch.State.ACTIVE
    ).values("pk")


def bought_product_ids(customer) -> set[int]:
    """Return the pks of the products a customer has bought (sales not cancelled)."""
    return served_rows.bought_product_ids(customer.pk)


def recommendations_for(
    customer, *, limit: int = 20, rules: ServingRules | None = None
) -> list[ServedItem]:
    """Return a customer's "for you" list from the active batch, as they see it.

    Unsellable and excluded products are left out, and so is what the customer
    already bought unless the shop is set for repeat purchase; pinned products take
    their positions. Three queries: rows, rules, purchases.
    """
    rows = served_rows.customer_rows(customer.pk, MAX_CANDIDATES)
    bought = set() if settings.SHOP_REPEAT_PURCHASE else bought_product_ids(customer)
    return apply_serving_rules(
        _served_items(rows),
        rules=rules if rules is not None else serving_rules(),
        bought=bought,
        pin=True,
        limit=limit,
    )


def product_list_for(
    product: Product,
    *,
    list_name: str,
    limit: int = 20,
    rules: ServingRules | None = None,
) -> list[ServedItem]:
    """Return a product's served "similar" or "bought together" list, as shown.

    Unsellable and excluded products are left out (two queries: rows, rules).
    """
    rows = served_rows.product_rows(product.pk, list_name, MAX_CANDIDATES)
    return apply_serving_rules(
        _served_items(rows),
        rules=rules if rules is not None else serving_rules(),
        limit=limit,
    )


def _served_items(rows: list[served_rows.ServedRow]) -> list[ServedItem]:
    return [ServedItem(*row) for row in rows]  # a ServedRow is in ServedItem's order


def similar_products(
    product: Product, *, limit: int = 20, rules: ServingRules | None = None
) -> list[ServedItem]:
    """Return the products served as similar to `product`, as customers see them."""
    return product_list_for(
        product, list_name=ProductRecommendation.List.SIMILAR, limit=limit, rules=rules
    )


def bought_together(
    product: Product, *, limit: int = 20, rules: ServingRules | None = None
) -> list[ServedItem]:
    """Return the products served as bought together with `product`, as shown."""
    return product_list_for(
        product,
        list_name=ProductRecommendation.List.BOUGHT_TOGETHER,
        limit=limit,
        rules=rules,
    )


# --- What serve-time filters remove ------------------------------------------------

MOSTLY_REMOVED = 0.5  # above this share of served rows removed, every report says so


@dataclass(frozen=True)
class FilteredRows:
    """How many of the active batch's "for you" rows serve-time filters remove, why."""

    rows: int
    out_of_stock: int
    inactive: int
    excluded: int

    @property
    def removed(self) -> int:
        return self.out_of_stock + self.inactive + self.excluded

    @property
    def mostly_removed(self) -> bool:
        return self.rows > 0 and self.removed > MOSTLY_REMOVED * self.rows

    def note(self) -> str:
        """One sentence with the counts and the reasons; "" unless most are removed."""
        if not self.mostly_removed:
            return ""
        reasons = [
            f"{count:,} {what}"
            for count, what in (
                (
                    self.out_of_stock,
                    "out of stock (stock-tracked with nothing on hand: import "
                    "stock figures, or mark the products untracked)",
                ),
                (self.inactive, "inactive products"),
                (self.excluded, "excluded by the shop's rules"),
            )
            if count
        ]
        return (
            f"Serve-time filters remove {self.removed:,} of {self.rows:,} served "
            f'"for you" rows ({self.removed / self.rows:.0%}): ' + "; ".join(reasons)
        )

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "removed": self.removed,
            "out_of_stock": self.out_of_stock,
            "inactive": self.inactive,
            "excluded_by_rules": self.excluded,
            "note": self.note(),
        }


def served_rows_filtered(batch_id: int | None = None) -> FilteredRows:
    """Count the rows of a "for you" batch (the active one by default) that the
    serve-time filters remove: an inactive product first, then out of stock, then
    the operator's exclusions (one row counts once). Two queries and the rules."""
    batch = batch_id if batch_id is not None else active_batch_id()
    if batch is None:
        return FilteredRows(0, 0, 0, 0)
    per_product = dict(
        Recommendation.objects.filter(batch_id=batch)
        .order_by()
        .values("product_id")
        .annotate(n=Count("pk"))
        .values_list("product_id", "n")
    )
    rules = serving_rules()
    counts = {"inactive": 0, "out_of_stock": 0, "excluded": 0}
    products = Product.objects.filter(pk__in=list(per_product)).select_related(
        "category"
    )
    for product in products.iterator(chunk_size=2000):
        n = per_product[product.pk]
        if not product.is_active:
            counts["inactive"] += n
        elif product.is_out_of_stock:
            counts["out_of_stock"] += n
        elif rules.excludes(product):
            counts["excluded"] += n
    return FilteredRows(rows=sum(per_product.values()), **counts)
