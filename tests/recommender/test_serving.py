"""Served lists as customers see them: filters, operator rules, repeat purchases."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product
from mlops.models import ServedBatch
from recommender.models import Recommendation
from recommender.models import RecommendationRule as Rule
from recommender.selectors import (
    BUY_AGAIN_REASON,
    PINNED_REASON,
    ServedItem,
    ServingRules,
    apply_serving_rules,
    bought_together,
    recommendations_for,
    similar_products,
)
from tests.factories import (
    CategoryFactory,
    OrderLineFactory,
    ProductFactory,
)
from tests.recommender.serving_support import serve_for, serve_list, served_batch

pytestmark = pytest.mark.django_db


def sellable(n: int, **kwargs) -> list[Product]:
    return [ProductFactory(stock_tracked=False, **kwargs) for _ in range(n)]


def skus(items) -> list[str]:
    return [item.product.sku for item in items]


# --- the pure rule function ---------------------------------------------------------


def item(pk: int, *, path="Home", active=True, rank=1) -> ServedItem:
    category = CategoryFactory.build(pk=pk, path=path)
    product = Product(
        pk=pk, sku=f"P{pk}", is_active=active, stock_tracked=False, category=category
    )
    product.category_id = pk
    return ServedItem(product=product, rank=rank, score=0.5, reason="model")


def test_rules_exclude_products_and_category_subtrees_and_renumber():
    candidates = [
        item(1, path="Home", rank=1),
        item(2, path="Home > Kitchen", rank=2),
        item(3, path="Home > Kitchenware", rank=3),  # a sibling, not below Kitchen
        item(4, path="Garden", rank=4),
        item(5, path="Home", active=False, rank=5),
    ]
    rules = ServingRules(
        excluded_product_ids=frozenset({4}),
        excluded_category_paths=("Home > Kitchen",),
    )

    shown = apply_serving_rules(candidates, rules=rules)

    assert [(i.product.pk, i.rank) for i in shown] == [(1, 1), (3, 2)]


def test_pins_take_their_positions_once_and_ties_keep_rule_order():
    candidates = [item(pk, rank=pk) for pk in (1, 2, 3, 4)]
    pin_a, pin_b = item(10), item(11)
    pins = ((1, pin_a), (1, pin_b), (3, item(2)), (9, item(10)))
    rules = ServingRules(pins=pins)

    shown = apply_serving_rules(candidates, rules=rules, pin=True, limit=5)

    assert [i.product.pk for i in shown] == [10, 11, 2, 1, 3]
    assert [i.rank for i in shown] == [1, 2, 3, 4, 5]
    assert apply_serving_rules(candidates, rules=rules)[0].product.pk == 1


def test_a_pin_goes_last_when_the_list_is_shorter_and_obeys_exclusions():
    rules = ServingRules(
        pins=((5, item(10)), (1, item(11, path="Toys"))),
        excluded_category_paths=("Toys",),
    )

    shown = apply_serving_rules([item(1)], rules=rules, pin=True, bought={1})

    assert [(i.product.pk, i.rank) for i in shown] == [(10, 1)]


# --- selectors against the database -------------------------------------------------


def test_for_you_filters_unsellable_and_bought_products(customer, settings):
    settings.SHOP_REPEAT_PURCHASE = False
    good, bought, inactive = sellable(3)
    inactive.is_active = False
    inactive.save()
    empty = ProductFactory(stock_tracked=True)  # tracked, none on hand
    stocked = ProductFactory(stock=2)
    serve_for(customer, [good, bought, inactive, empty, stocked])
    OrderLineFactory(order__customer=customer, product=bought)

    shown = recommendations_for(customer)

    assert skus(shown) == [good.sku, stocked.sku]
    assert [i.rank for i in shown] == [1, 2]
    assert shown[1].reason == "because 5"


def test_repeat_purchase_shops_keep_bought_products(customer, settings):
    settings.SHOP_REPEAT_PURCHASE = True
    bought, other = sellable(2)
    serve_for(customer, [bought, other])
    OrderLineFactory(order__customer=customer, product=bought)

    assert skus(recommendations_for(customer)) == [bought.sku, other.sku]


def test_automatic_repeats_keep_only_what_inference_marked_buy_again(
    customer, settings
):
    settings.SHOP_REPEAT_PURCHASE = None  # decided from the data by training
    regular, once, other = sellable(3)
    batch = serve_for(customer, [regular, once, other])
    Recommendation.objects.filter(batch=batch, product=regular).update(
        reason=BUY_AGAIN_REASON
    )
    for product in (regular, once):
        OrderLineFactory(order__customer=customer, product=product)

    assert skus(recommendations_for(customer)) == [regular.sku, other.sku]


def test_only_the_active_batch_is_read(customer):
    old, new = sellable(2)
    serve_for(customer, [old], served_batch(ServedBatch.State.SUPERSEDED))
    batch = serve_for(customer, [new], served_batch())

    shown = recommendations_for(customer)

    assert skus(shown) == [new.sku]
    assert shown[0].batch_id == batch.pk


def test_operator_rules_apply_to_for_you(customer, staff):
    kitchen = CategoryFactory(name="Kitchen")
    mugs = CategoryFactory(name="Mugs", parent=kitchen)
    mug, plain, excluded, other = (
        *sellable(1, category=mugs),
        *sellable(3),
    )
    pinned = sellable(1)[0]
    serve_for(customer, [mug, plain, excluded, pinned, other])
    Rule.objects.create(action=Rule.Action.EXCLUDE, category=kitchen)
    Rule.objects.create(action=Rule.Action.EXCLUDE, product=excluded)
    Rule.objects.create(action=Rule.Action.PIN, product=pinned, position=2)
    Rule.objects.create(
        action=Rule.Action.EXCLUDE, product=other, is_active=False, created_by=staff
    )

    shown = recommendations_for(customer)

    assert skus(shown) == [plain.sku, pinned.sku, other.sku]
    assert shown[1].reason == PINNED_REASON
    assert [i.rank for i in shown] == [1, 2, 3]


def test_a_pin_reaches_customers_without_a_list_but_not_if_out_of_stock(customer):
    pinned = sellable(1)[0]
    empty = ProductFactory(stock_tracked=True)
    Rule.objects.create(action=Rule.Action.PIN, product=pinned, position=3)
    Rule.objects.create(action=Rule.Action.PIN, product=empty, position=1)

    shown = recommendations_for(customer)

    assert [(i.product.sku, i.rank, i.score) for i in shown] == [(pinned.sku, 1, None)]


def test_product_lists_filter_and_exclude_but_do_not_pin():
    product = ProductFactory()
    similar = sellable(3)
    together = sellable(2)
    inactive = ProductFactory(is_active=False, stock_tracked=False)
    batch = serve_list(product, [*similar, inactive], "similar")
    serve_list(product, together, "bought_together", batch)
    Rule.objects.create(action=Rule.Action.EXCLUDE, product=similar[1])
    Rule.objects.create(action=Rule.Action.PIN, product=together[1], position=1)

    assert skus(similar_products(product)) == [similar[0].sku, similar[2].sku]
    assert skus(bought_together(product)) == [p.sku for p in together]
    assert skus(similar_products(product, limit=1)) == [similar[0].sku]
    assert similar_products(together[0]) == []


@pytest.mark.postgres
@pytest.mark.parametrize("length", [2, 20])
def test_queries_are_bounded(customer, length):
    products = sellable(length)
    serve_for(customer, products)
    serve_list(products[0], products[1:], "similar")
    Rule.objects.create(action=Rule.Action.PIN, product=products[-1], position=1)
    OrderLineFactory(order__customer=customer, product=products[0])

    with CaptureQueriesContext(connection) as for_you:
        shown = recommendations_for(customer)
        [(i.product.category.path, i.image_name) for i in shown]
    with CaptureQueriesContext(connection) as similar:
        listed = similar_products(products[0])
        [(i.product.category.path, i.image_name) for i in listed]

    assert len(shown) == length - 1 and len(listed) == length - 1
    assert len(for_you) == 3  # rows, rules, purchases
    assert len(similar) == 2  # rows, rules
