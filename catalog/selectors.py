"""Reads of the catalogue."""

from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet

from mlops.models import ModelKind, ModelVersion
from recommender.selectors import (
    ServedItem,
    ServingRules,
    apply_serving_rules,
    first_image_name,
    serving_rules,
)

from .ml.similarity import unit_rows, vector_from_bytes
from .models import (
    CATEGORY_PATH_SEPARATOR,
    Category,
    Product,
    ProductImage,
    ProductImageEmbedding,
    VisuallySimilarProduct,
)


def category_effective_defaults(category: Category | None) -> tuple[int, Decimal]:
    """Return (lead time days, service level) of a category, inheriting up the tree."""
    lead_time = service_level = None
    node = category
    while node is not None and (lead_time is None or service_level is None):
        if lead_time is None:
            lead_time = node.default_lead_time_days
        if service_level is None:
            service_level = node.default_service_level
        node = node.parent
    if lead_time is None:
        lead_time = settings.SHOP_DEFAULT_LEAD_TIME_DAYS
    if service_level is None:
        service_level = Decimal(str(settings.SHOP_DEFAULT_SERVICE_LEVEL))
    return lead_time, service_level


def product_lead_time_days(product: Product) -> int:
    """Return the product's lead time, falling back to its category's default."""
    if product.lead_time_days is not None:
        return product.lead_time_days
    return category_effective_defaults(product.category)[0]


def product_service_level(product: Product) -> Decimal:
    """Return the product's target service level, falling back to its category's."""
    if product.service_level is not None:
        return product.service_level
    return category_effective_defaults(product.category)[1]


def product_list(*, active_only: bool = True) -> QuerySet[Product]:
    """Return products with their category, ready for lists."""
    products = Product.objects.select_related("category")
    if active_only:
        products = products.filter(is_active=True)
    return products


def category_leaves() -> QuerySet[Category]:
    """Return categories that have no children."""
    return Category.objects.filter(children__isnull=True)


def product_catalogue(*, include_inactive: bool = False) -> QuerySet[Product]:
    """Return products for the shop front: category joined, images prefetched in order.

    Only active products unless `include_inactive` (staff views).
    """
    products = Product.objects.select_related("category").prefetch_related(
        Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"))
    )
    if not include_inactive:
        products = products.filter(is_active=True)
    return products


def product_filter_in_category(
    products: QuerySet[Product], *, category: Category
) -> QuerySet[Product]:
    """Narrow products to a category and every category below it."""
    below = f"{category.path}{CATEGORY_PATH_SEPARATOR}"
    return products.filter(Q(category=category) | Q(category__path__startswith=below))


def product_filter_in_stock(
    products: QuerySet[Product], *, in_stock: bool
) -> QuerySet[Product]:
    """Narrow products to those available (untracked counts as available) or not."""
    available = Q(stock_tracked=False) | Q(stock_on_hand__gt=0)
    return products.filter(available) if in_stock else products.exclude(available)


def product_map_by_sku(*, skus: list[str]) -> dict[str, Product]:
    """Return the products with these SKUs, keyed by SKU (unknown SKUs are absent)."""
    return Product.objects.in_bulk(set(skus), field_name="sku")


def category_list() -> QuerySet[Category]:
    """Return every category, in path order (parents before their children)."""
    return Category.objects.order_by("path")


def category_tree() -> list[Category]:
    """Return the root categories, each with `tree_children` filled down the tree.

    One query; ordering by depth puts every parent before its children.
    """
    nodes: dict[int, Category] = {}
    roots: list[Category] = []
    for category in Category.objects.order_by("depth", "path"):
        category.tree_children = []
        nodes[category.pk] = category
        parent = nodes.get(category.parent_id)
        if parent is not None:
            parent.tree_children.append(category)
        else:
            roots.append(category)
    return roots


# --- Image embeddings and visually similar products ---------------------------------

VISUALLY_SIMILAR_REASON = "Similar picture"


def image_embedding_matrix(
    *, version_id: int, product_ids=None
) -> tuple[np.ndarray, np.ndarray]:
    """Return (product ids, unit vectors [n, d]) of one model version, by product id.

    Only the products in `product_ids` when given; vectors of another length than
    the version's first are left out.
    """
    rows = ProductImageEmbedding.objects.filter(model_version_id=version_id)
    if product_ids is not None:
        rows = rows.filter(product_id__in=list(product_ids))
    ids, vectors = [], []
    for product_id, data in rows.order_by("product_id").values_list(
        "product_id", "vector"
    ):
        vector = vector_from_bytes(data)
        if vectors and len(vector) != len(vectors[0]):
            continue
        ids.append(product_id)
        vectors.append(vector)
    if not vectors:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    return np.asarray(ids, dtype=np.int64), unit_rows(np.stack(vectors))


def image_embedding_version_id() -> int | None:
    """Return the model version whose embeddings are used, or None if there are none.

    The image champion's when it wrote any, else the version written last: vectors
    of two versions are never compared.
    """
    champion = (
        ModelVersion.objects.filter(
            kind=ModelKind.IMAGE, status=ModelVersion.Status.CHAMPION
        )
        .values_list("pk", flat=True)
        .first()
    )
    embeddings = ProductImageEmbedding.objects
    if champion is not None and embeddings.filter(model_version_id=champion).exists():
        return champion
    return (
        embeddings.order_by("-updated_at", "-model_version_id")
        .values_list("model_version_id", flat=True)
        .first()
    )


def image_embeddings_for(product_ids) -> np.ndarray:
    """Return [n, d] unit image embeddings of the products, zero rows where none.

    Aligned with `product_ids`; [n, 0] when no product has one.
    """
    wanted = np.asarray(product_ids, dtype=np.int64)
    version_id = image_embedding_version_id()
    if version_id is None:
        return np.zeros((len(wanted), 0), dtype=np.float32)
    ids, vectors = image_embedding_matrix(version_id=version_id)
    out = np.zeros((len(wanted), vectors.shape[1]), dtype=np.float32)
    if len(ids):
        where = np.searchsorted(ids, wanted)
        found = (where < len(ids)) & (ids[np.minimum(where, len(ids) - 1)] == wanted)
        out[found] = vectors[where[found]]
    return out


def visually_similar_products(
    product: Product, *, limit: int = 20, rules: ServingRules | None = None
) -> list[ServedItem]:
    """Return the products whose pictures look most like this one's, as shown.

    Inactive, out-of-stock and excluded products are left out, ranks renumbered
    (two queries: rows, rules).
    """
    rows = (
        VisuallySimilarProduct.objects.filter(product=product)
        .exclude(similar=product)
        .select_related("similar", "similar__category")
        .annotate(image_name=first_image_name("similar_id"))
        .order_by("rank")
    )
    candidates = [
        ServedItem(
            product=row.similar,
            rank=row.rank,
            score=row.score,
            reason=VISUALLY_SIMILAR_REASON,
            image_name=row.image_name,
        )
        for row in rows
    ]
    return apply_serving_rules(
        candidates,
        rules=rules if rules is not None else serving_rules(),
        limit=limit,
    )
