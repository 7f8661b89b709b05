"""Reads of the storefront: category navigation, trending and category listings."""

import heapq
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.text import slugify

from catalog.models import Category, Product
from catalog.selectors import (
    category_tree,
    product_filter_in_category,
    product_filter_in_stock,
    product_list,
)
from orders.models import Order, OrderLine
from recommender.selectors import first_image_name

TRENDING_DAYS = 14  # "trending" and "popular" mean units sold in this many days
POPULARITY_CACHE_SECONDS = 300


# --- Categories -------------------------------------------------------------------


@dataclass
class CategoryIndex:
    """The category tree with a URL path per category (`kitchen/mugs`)."""

    roots: list[Category] = field(default_factory=list)
    by_slug_path: dict[str, Category] = field(default_factory=dict)
    by_pk: dict[int, Category] = field(default_factory=dict)

    def find(self, slug_path: str) -> Category | None:
        return self.by_slug_path.get(slug_path.strip("/"))

    def trail(self, category_id: int | None) -> list[Category]:
        """Return the category and those above it, root first (no query)."""
        chain, node = [], self.by_pk.get(category_id)
        while node is not None:
            chain.append(node)
            node = self.by_pk.get(node.parent_id)
        return chain[::-1]


def category_index() -> CategoryIndex:
    """Return the category tree, each node with `slug_path` and `tree_children` set.

    One query. A name that slugifies to nothing, or to a sibling's slug, gets its
    primary key appended so that every category has its own URL.
    """
    index = CategoryIndex(roots=category_tree())

    def visit(nodes: list[Category], prefix: str) -> None:
        taken: set[str] = set()
        for node in nodes:
            slug = slugify(node.name, allow_unicode=True)
            if not slug or slug in taken:
                slug = f"{slug}-{node.pk}" if slug else str(node.pk)
            taken.add(slug)
            node.slug_path = f"{prefix}{slug}"
            index.by_slug_path[node.slug_path] = node
            index.by_pk[node.pk] = node
            visit(node.tree_children, f"{node.slug_path}/")

    visit(index.roots, "")
    return index


# --- Popularity -------------------------------------------------------------------


def recent_popularity(*, days: int = TRENDING_DAYS) -> dict[int, int]:
    """Return the units sold per product in the last `days` days (products that sold).

    One aggregate over the recent order lines, kept in the cache for
    POPULARITY_CACHE_SECONDS so that busy pages do not repeat it.
    """
    key = f"storefront:popularity:{days}"
    popularity = cache.get(key)
    if popularity is None:
        since = timezone.now() - timedelta(days=days)
        sales = OrderLine.objects.filter(
            order__placed_at__gte=since, order__kind=Order.Kind.SALE
        ).exclude(order__status=Order.Status.CANCELLED)
        popularity = dict(
            sales.values("product_id")
            .annotate(units=Sum("quantity"))
            .values_list("product_id", "units")
        )
        cache.set(key, popularity, POPULARITY_CACHE_SECONDS)
    return popularity


def _available() -> Q:
    return Q(stock_tracked=False) | Q(stock_on_hand__gt=0)


def trending_products(*, limit: int = 12, days: int = TRENDING_DAYS) -> list[Product]:
    """Return the sellable products that sold the most units lately, best first.

    When fewer than `limit` of the best sellers are for sale, the newest sellable
    products fill the list. At most three queries whatever the shop's size.
    """
    popularity = recent_popularity(days=days)
    # A few spare candidates, for best sellers since withdrawn or sold out.
    top = heapq.nsmallest(limit * 3, popularity, key=lambda pk: (-popularity[pk], pk))
    shown = (
        product_list().filter(_available()).annotate(image_name=first_image_name("pk"))
    )
    found = shown.in_bulk(top) if top else {}
    products = [found[pk] for pk in top if pk in found][:limit]
    if len(products) < limit:
        newest = shown.exclude(pk__in=[p.pk for p in products]).order_by(
            "-created_at", "-pk"
        )
        products.extend(newest[: limit - len(products)])
    return products


# --- Category listing -------------------------------------------------------------


class Sort:
    POPULAR = "popular"
    PRICE = "price"
    PRICE_DESC = "-price"
    NEWEST = "newest"

    CHOICES = [
        (POPULAR, "Most popular"),
        (PRICE, "Price: low to high"),
        (PRICE_DESC, "Price: high to low"),
        (NEWEST, "Newest"),
    ]


ORDERINGS = {
    Sort.PRICE: ("price", "name", "pk"),
    Sort.PRICE_DESC: ("-price", "name", "pk"),
    Sort.NEWEST: ("-created_at", "-pk"),
}


def category_product_page(
    *,
    category: Category,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    in_stock: bool = False,
    sort: str = Sort.POPULAR,
    page_number=1,
    per_page: int = 24,
) -> Page:
    """Return one page of the active products of a category and its sub-categories,
    filtered and sorted, each with its first picture.

    Sorted by price or age, the database sorts and pages (two queries). By
    popularity, the category's product ids are sorted here by `recent_popularity`
    (best sellers first, then by name), which is faster than asking the database to
    sum every product's recent sales; then the page's products are read (two
    queries, three when the popularity is not cached).
    """
    products = product_filter_in_category(product_list(), category=category)
    if min_price is not None:
        products = products.filter(price__gte=min_price)
    if max_price is not None:
        products = products.filter(price__lte=max_price)
    if in_stock:
        products = product_filter_in_stock(products, in_stock=True)
    with_image = products.annotate(image_name=first_image_name("pk"))
    if sort in ORDERINGS:
        return Paginator(with_image.order_by(*ORDERINGS[sort]), per_page).get_page(
            page_number
        )
    popularity = recent_popularity()
    rows = list(products.order_by().values_list("pk", "name"))
    rows.sort(key=lambda row: (-popularity.get(row[0], 0), row[1], row[0]))
    page = Paginator([pk for pk, _ in rows], per_page).get_page(page_number)
    found = with_image.in_bulk(page.object_list) if page.object_list else {}
    page.object_list = [found[pk] for pk in page.object_list if pk in found]
    return page
