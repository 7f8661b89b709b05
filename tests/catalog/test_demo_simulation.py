"""The demo store's simulation, without a database: tastes, prices, seasons, stock."""

import json
from datetime import date

import numpy as np
import pytest

from catalog.demo.simulation import (
    EVENT_PURCHASE,
    MOVEMENT_SALE,
    StoreSimulation,
    cart_probability,
)
from catalog.demo.truth import hidden_truth
from catalog.demo.world import StoreSpec, build_world

SMALL = StoreSpec(seed=3, customers=400, products=60, days=84)


@pytest.fixture(scope="module")
def played():
    simulation = StoreSimulation(build_world(SMALL), chunk_days=30)
    return simulation, simulation.run()


def _joined(chunks, table):
    keys = getattr(chunks[0], table).keys()
    return {k: np.concatenate([getattr(c, table)[k] for c in chunks]) for k in keys}


def _queries(chunks) -> list[str]:
    """Return the search texts in event order (query indices are per chunk)."""
    return [
        chunk.queries[q] for chunk in chunks for q in chunk.events["query"] if q >= 0
    ]


def test_a_price_cut_raises_the_chance_to_buy_in_every_category():
    world = build_world(SMALL)
    assert (world.elasticity < 0).all()
    ones = np.ones(len(world.elasticity))
    regular, cut = (
        cart_probability(
            relative_price=ones * factor,
            elasticity=world.elasticity,
            sensitivity=ones,
            on_promotion=np.zeros(len(ones), dtype=bool),
        )
        for factor in (1.0, 0.8)
    )
    assert (cut > regular).all()
    # The demand curve is a constant elasticity one: log ratio / log price ratio.
    np.testing.assert_allclose(np.log(cut / regular) / np.log(0.8), world.elasticity)


def test_a_promotion_lifts_demand_beyond_its_price_cut():
    args = {
        "relative_price": np.array([0.8]),
        "elasticity": np.array([-1.5]),
        "sensitivity": np.ones(1),
    }
    on = cart_probability(on_promotion=np.array([True]), **args)
    off = cart_probability(on_promotion=np.array([False]), **args)
    assert on > off


def test_same_seed_gives_the_same_store_whatever_the_chunking(played):
    _, chunks = played
    again = StoreSimulation(build_world(SMALL), chunk_days=7).run()
    for table in ("orders", "lines", "movements", "price_changes", "events"):
        first, second = _joined(chunks, table), _joined(again, table)
        for key in first.keys() - {"query"}:
            np.testing.assert_array_equal(first[key], second[key], err_msg=table + key)
    assert _queries(chunks) == _queries(again)


def test_another_seed_gives_another_store(played):
    _, chunks = played
    other = StoreSimulation(
        build_world(StoreSpec(**{**SMALL.__dict__, "seed": 4}))
    ).run()
    assert not np.array_equal(
        _joined(chunks, "lines")["product"][:50],
        _joined(other, "lines")["product"][:50],
    )


def test_nothing_is_sold_without_stock_and_stockouts_happen(played):
    simulation, chunks = played
    opening = np.concatenate([c.opening_stock for c in chunks])
    sold = np.concatenate([c.units_sold for c in chunks])
    assert (sold <= opening).all()
    assert sold[opening == 0].sum() == 0
    assert simulation.stockouts, "the small store should run out of something"
    for stockout in simulation.stockouts:
        assert (
            opening[stockout.last_day, stockout.product]
            - sold[stockout.last_day, stockout.product]
            == 0
        )


def test_the_ledger_balances_follow_the_quantities(played):
    simulation, chunks = played
    movements = _joined(chunks, "movements")
    for product in range(SMALL.products):
        mine = movements["product"] == product
        quantities = movements["quantity"][mine]
        np.testing.assert_array_equal(np.cumsum(quantities), movements["balance"][mine])
        assert quantities.sum() == simulation.stock[product] >= 0
    assert (movements["balance"] >= 0).all()
    sales = movements["kind"] == MOVEMENT_SALE
    lines = _joined(chunks, "lines")
    assert -movements["quantity"][sales].sum() == lines["quantity"].sum()


def test_orders_total_their_lines_and_purchases_match_lines(played):
    _, chunks = played
    orders, lines = _joined(chunks, "orders"), _joined(chunks, "lines")
    events = _joined(chunks, "events")
    totals = np.zeros(orders["number"].max() + 1, dtype=np.int64)
    np.add.at(totals, lines["order"], lines["quantity"] * lines["price"])
    np.testing.assert_array_equal(totals[orders["number"]], orders["total"])
    purchases = events["kind"] == EVENT_PURCHASE
    assert purchases.sum() == len(lines["order"])
    assert len(np.unique(orders["number"])) == len(orders["number"])


def test_weekly_seasonality_shows_in_visits():
    spec = StoreSpec(seed=5, customers=3000, products=40, days=84)
    simulation = StoreSimulation(build_world(spec))
    sessions = np.zeros(spec.days)
    for chunk in simulation.chunks():
        for day in range(chunk.first_day, chunk.first_day + chunk.n_days):
            today = chunk.events["day"] == day
            sessions[day] = len(np.unique(chunk.events["session"][today]))
    by_weekday = np.array([sessions[i::7].mean() for i in range(7)])
    weekly = simulation.world.weekly
    assert np.corrcoef(by_weekday, weekly)[0, 1] > 0.7
    assert by_weekday.max() / by_weekday.min() > 1.1


def test_customers_buy_mostly_from_the_categories_they_like(played):
    simulation, chunks = played
    world = simulation.world
    orders, lines = _joined(chunks, "orders"), _joined(chunks, "lines")
    buyer = dict(
        zip(orders["number"].tolist(), orders["customer"].tolist(), strict=True)
    )
    customers = np.array([buyer[o] for o in lines["order"].tolist()])
    liked = world.affinity[customers, world.product_leaf[lines["product"]]]
    # A random category would get 1/40 of the affinity on average.
    assert liked.mean() > 3 / len(world.leaf_names)


def test_truth_is_json_and_names_what_models_should_recover(played):
    simulation, _ = played
    truth = json.loads(
        json.dumps(hidden_truth(simulation, start_date=date(2025, 1, 1)))
    )
    assert len(truth["categories"]) == 40
    assert all(c["elasticity"] < 0 and c["image_recipe"] for c in truth["categories"])
    assert len(truth["customers"]) == SMALL.customers
    assert len(truth["transition_matrix"]["rows"]) == 40
    assert np.allclose(np.sum(truth["transition_matrix"]["rows"], axis=1), 1, atol=1e-3)
    assert len(truth["stockouts"]) == len(simulation.stockouts)
    assert truth["sizes"] == {"customers": 400, "products": 60, "days": 84}
