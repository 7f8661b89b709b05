"""Served-list reads on the request path, as fixed SQL statements.

The API's served lists are the shop's hottest reads. Built through the ORM, each
statement cost more to compile than to run (a join, a sub-select for the picture and
~30 columns a product), so these use statements written once per process
(`ecomsite.sqlreads`), and build products with only the fields a list shows (the rest
are deferred). Portable between PostgreSQL and SQLite.
"""

from functools import cache

from catalog.models import Category, Product, ProductImage
from ecomsite.sqlreads import build, column, columns, fetch, table
from mlops.models import ModelKind, ServedBatch
from orders.models import Order, OrderLine

from .models import ProductRecommendation, Recommendation, RecommendationRule

SHOWN_FIELDS = frozenset(
    {
        "id",
        "sku",
        "name",
        "price",
        "currency",
        "is_active",
        "stock_tracked",
        "stock_on_hand",
        "category_id",
    }
)

ServedRow = tuple[Product, int, float | None, str, int | None, str | None]
"""(product, rank, score, reason, batch id, picture name) of one served entry: the
fields of `recommender.selectors.ServedItem`, in its order."""


def _product_columns():
    return columns(Product, "p", SHOWN_FIELDS), columns(Category, "c")


def _product_select() -> str:
    """Product `p`'s shown columns, its category `c`'s and its first picture's name."""
    product, category = _product_columns()
    image = ProductImage
    picture = (
        f"(SELECT COALESCE(NULLIF(i.{column(image, 'thumbnail')}, ''), "
        f"i.{column(image, 'image')}) FROM {table(image)} i "
        f"WHERE i.{column(image, 'product')} = p.{column(Product, 'id')} "
        f"ORDER BY i.{column(image, 'position')}, i.{column(image, 'id')} LIMIT 1)"
    )
    return f"{product.sql}, {category.sql}, {picture}"


def _product_join(on: str) -> str:
    return (
        f"JOIN {table(Product)} p ON p.{column(Product, 'id')} = {on} "
        f"LEFT JOIN {table(Category)} c "
        f"ON c.{column(Category, 'id')} = p.{column(Product, 'category')}"
    )


def product_from_row(values) -> tuple[Product, str | None]:
    """Build a product (its category attached) and its picture name from a row."""
    shown, category = _product_columns()
    product = build(shown, values[: len(shown)])
    category_values = values[len(shown) : len(shown) + len(category)]
    product.category = build(category, category_values) if product.category_id else None
    return product, values[len(shown) + len(category)]


@cache
def _list_statement(name: str) -> str:
    """The statement reading one served list ("customer" or "product"), best first."""
    if name == "customer":
        model, key, item = Recommendation, "customer", "product"
    else:
        model, key, item = ProductRecommendation, "product", "recommended"
    served = ", ".join(
        f"r.{column(model, field)}" for field in ("rank", "score", "reason", "batch")
    )
    batch = ServedBatch
    # A sub-select in the same statement: a batch swap cannot mix two sets of rows.
    where = (
        f"r.{column(model, 'batch')} IN (SELECT b.{column(batch, 'id')} "
        f"FROM {table(batch)} b WHERE b.{column(batch, 'kind')} = %s "
        f"AND b.{column(batch, 'state')} = %s) AND r.{column(model, key)} = %s"
    )
    if name == "product":
        where += (
            f" AND r.{column(model, 'list')} = %s"
            f" AND r.{column(model, item)} <> r.{column(model, key)}"
        )
    return (
        f"SELECT {served}, {_product_select()} FROM {table(model)} r "
        f"{_product_join(f'r.{column(model, item)}')} "
        f"WHERE {where} ORDER BY r.{column(model, 'rank')} LIMIT %s"
    )


@cache
def _rules_statement() -> str:
    rule = RecommendationRule
    pinned = f"r.{column(rule, 'product')}"
    return (
        f"SELECT r.{column(rule, 'action')}, rc.{column(Category, 'path')}, "
        f"r.{column(rule, 'position')}, {_product_select()} FROM {table(rule)} r "
        f"LEFT {_product_join(pinned)} "
        f"LEFT JOIN {table(Category)} rc "
        f"ON rc.{column(Category, 'id')} = r.{column(rule, 'category')} "
        f"WHERE r.{column(rule, 'is_active')} = %s "
        f"ORDER BY r.{column(rule, 'position')}, r.{column(rule, 'id')}"
    )


@cache
def _bought_statement() -> str:
    line, order = OrderLine, Order
    return (
        f"SELECT DISTINCT l.{column(line, 'product')} FROM {table(line)} l "
        f"JOIN {table(order)} o ON o.{column(order, 'id')} = l.{column(line, 'order')} "
        f"WHERE o.{column(order, 'customer')} = %s AND o.{column(order, 'kind')} = %s "
        f"AND o.{column(order, 'status')} <> %s"
    )


@cache
def _active_product_statement() -> str:
    return (
        f"SELECT {column(Product, 'id')} FROM {table(Product)} "
        f"WHERE {column(Product, 'sku')} = %s AND {column(Product, 'is_active')} = %s"
    )


def _served(statement: str, params: list) -> list[ServedRow]:
    served = []
    for rank, score, reason, batch_id, *values in fetch(statement, params):
        product, picture = product_from_row(values)
        served.append((product, rank, score, reason, batch_id, picture))
    return served


ACTIVE_LISTS = [ModelKind.RECOMMENDER, ServedBatch.State.ACTIVE]


def customer_rows(customer_id: int, limit: int) -> list[ServedRow]:
    """A customer's "for you" rows of the active batch, best first."""
    return _served(_list_statement("customer"), [*ACTIVE_LISTS, customer_id, limit])


def product_rows(product_id: int, list_name: str, limit: int) -> list[ServedRow]:
    """A product's "similar" or "bought together" rows of the active batch."""
    params = [*ACTIVE_LISTS, product_id, list_name, limit]
    return _served(_list_statement("product"), params)


def active_product_id(sku: str) -> int | None:
    """The pk of the active product with this SKU, if there is one."""
    rows = fetch(_active_product_statement(), [sku, True])
    return rows[0][0] if rows else None


Rule = tuple[str, Product | None, str | None, str | None, int]
"""(action, product, its picture name, category path, position) of an operator rule."""


def active_rules() -> list[Rule]:
    """The active operator rules, in order, with their products (one query)."""
    rules = []
    for action, category_path, position, *values in fetch(_rules_statement(), [True]):
        product, picture = product_from_row(values) if values[0] else (None, None)
        rules.append((action, product, picture, category_path, position))
    return rules


def bought_product_ids(customer_id: int) -> set[int]:
    """The pks of the products a customer has bought (sales not cancelled)."""
    params = [customer_id, Order.Kind.SALE, Order.Status.CANCELLED]
    return {product_id for (product_id,) in fetch(_bought_statement(), params)}
