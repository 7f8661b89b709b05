"""Reads of the catalogue."""

from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet

from .models import CATEGORY_PATH_SEPARATOR, Category, Product, ProductImage


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
