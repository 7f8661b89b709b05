"""Simulate a shop's daily trade: visits, views, carts, orders, stock and prices.

Pure NumPy, no Django. `world.build_world` draws everything that is fixed for the
whole period (tree, products, customers, price plans); `StoreSimulation.chunks` plays
the days and yields plain arrays per chunk of days, so memory stays bounded at any
size. Days are indices 0..days-1 (negative: before the period); seconds count from
local midnight. Prices are integer cents. Every random draw comes from the seed, and
each day has its own generator, so the content does not depend on chunking or on the
calendar date the store is generated on.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from . import names
from .world import (
    PRICE_COMPETITOR,
    PRICE_PROMOTION,
    World,
)

MOVEMENT_RESTOCK, MOVEMENT_SALE = 0, 1
EVENT_VIEW, EVENT_CART, EVENT_PURCHASE, EVENT_SEARCH = 0, 1, 2, 3
MAX_SESSION_STEPS = 3
MAX_VIEWS_PER_STEP = 5
CART_RATE = 0.22
CHECKOUT_RATE = 0.65


@dataclass
class DayChunk:
    """What happened on days first_day..first_day+n_days-1, as arrays."""

    first_day: int
    n_days: int
    orders: dict[str, np.ndarray]
    lines: dict[str, np.ndarray]
    movements: dict[str, np.ndarray]
    price_changes: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    queries: list[str]
    opening_stock: (
        np.ndarray
    )  # (n_days, products) on-hand after the morning's deliveries
    units_sold: np.ndarray  # (n_days, products)


@dataclass
class StockOut:
    product: int
    first_day: int
    last_day: int


@dataclass
class StoreSimulation:
    """Play the world's days; after `chunks` is exhausted, the final state is here."""

    world: World
    chunk_days: int = 30
    stock: np.ndarray = field(init=False)
    price: np.ndarray = field(init=False)
    stockouts: list[StockOut] = field(default_factory=list)
    lost_units: np.ndarray = field(init=False)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        w = self.world
        n = len(w.sku)
        self.stock = np.zeros(n, dtype=np.int64)
        self.price = w.base_price.copy()
        self.on_promo = np.zeros(n, dtype=bool)
        self.lost_units = np.zeros(n, dtype=np.int64)
        self.on_order = np.zeros(n, dtype=np.int64)
        # day -> (product, quantity, purchase order number) deliveries
        self.arrivals: dict[int, list[tuple[int, int, int]]] = {}
        self.out_since = np.full(n, -1, dtype=np.int64)
        self.last_category = np.full(len(w.usernames), -1, dtype=np.int64)
        self.leaf_specs = [leaf for _, leaf in names.leaves()]
        self.leaf_products = [
            np.flatnonzero(w.product_leaf == k) for k in range(len(w.leaf_names))
        ]
        self.demand_estimate = self._expected_daily_units()
        self.price_tier = np.zeros(n)
        for products in self.leaf_products:
            if len(products):
                base = w.base_price[products]
                self.price_tier[products] = np.log(base / np.median(base))
        self.next_order = 1
        self.next_session = 1
        self.next_po = 1
        self._price_cursor = 0
        self.counts = dict.fromkeys(
            ("orders", "lines", "movements", "price_changes", "events"), 0
        )

    # --- the days ----------------------------------------------------------------

    def chunks(self) -> Iterator[DayChunk]:
        """Yield the simulated trade chunk by chunk of days."""
        days = self.world.spec.days
        for first in range(0, days, self.chunk_days):
            n_days = min(self.chunk_days, days - first)
            chunk = self._run_days(first, n_days)
            for key in ("orders", "lines", "movements", "price_changes", "events"):
                self.counts[key] += len(getattr(chunk, key)["day"])
            yield chunk
        for p in np.flatnonzero(self.out_since >= 0):
            self.stockouts.append(StockOut(int(p), int(self.out_since[p]), days - 1))
            self.out_since[p] = -1

    def run(self) -> list[DayChunk]:
        """Return every chunk at once (small stores and tests only)."""
        return list(self.chunks())

    def _run_days(self, first: int, n_days: int) -> DayChunk:
        parts: dict[str, list[dict[str, np.ndarray]]] = {
            k: [] for k in ("orders", "lines", "movements", "price_changes", "events")
        }
        queries: list[str] = []
        n = len(self.world.sku)
        opening = np.zeros((n_days, n), dtype=np.int64)
        sold = np.zeros((n_days, n), dtype=np.int64)
        for offset in range(n_days):
            day = first + offset
            rng = np.random.default_rng([self.world.spec.seed, 1, day])
            movements = [self._receive_stock(day, rng)]
            parts["price_changes"].append(self._apply_prices(day))
            opening[offset] = self.stock
            trade = self._trade(day, rng, queries)
            movements.append(trade.pop("movements"))
            for key, value in trade.items():
                parts[key].append(value)
            parts["movements"].append(_concat(movements))
            sold[offset] = opening[offset] - self.stock
            self._track_stockouts(day)
            self._reorder(day, rng, sold[offset])
        return DayChunk(
            first_day=first,
            n_days=n_days,
            queries=queries,
            opening_stock=opening,
            units_sold=sold,
            **{key: _concat(value) for key, value in parts.items()},
        )

    def _alive(self, day: int) -> np.ndarray:
        w = self.world
        return (w.launch_day <= day) & (w.retire_day > day)

    def _expected_daily_units(self) -> np.ndarray:
        """Return a rough prior of units per product and day, to size first stock."""
        w = self.world
        visitors = float(np.sum(w.visit_rate[w.join_day <= 0]))
        share = (
            w.affinity[w.join_day <= 0].mean(axis=0) if visitors else w.affinity.mean(0)
        )
        units = np.zeros(len(w.sku))
        for k, products in enumerate(self.leaf_products):
            if len(products):
                within = w.quality[products] / w.quality[products].sum()
                views = min(2.2, len(products))
                units[products] = (
                    visitors
                    * 1.5
                    * share[k]
                    * within
                    * views
                    * CART_RATE
                    * CHECKOUT_RATE
                    * w.mean_quantity[k]
                )
        return np.maximum(units, 0.02)

    def _receive_stock(self, day: int, rng) -> dict[str, np.ndarray]:
        w = self.world
        products, quantities, references, seconds = [], [], [], []
        if day == 0:
            existing = np.flatnonzero(w.launch_day < 0)
        else:
            existing = np.zeros(0, dtype=np.int64)
        launching = np.flatnonzero(w.launch_day == day)
        for group in (existing, launching):
            if len(group):
                cover = (w.lead_time[group] + 28) * rng.uniform(0.6, 1.4, len(group))
                qty = np.ceil(self.demand_estimate[group] * cover).astype(np.int64) + 1
                products.append(group)
                quantities.append(qty)
                references.append(np.zeros(len(group), dtype=np.int64))
                seconds.append(np.full(len(group), 5 * 3600))
        delivered = self.arrivals.pop(day, [])
        if delivered:
            arr = np.array(delivered, dtype=np.int64)
            products.append(arr[:, 0])
            quantities.append(arr[:, 1])
            references.append(arr[:, 2])
            seconds.append(
                np.full(len(arr), 6 * 3600) + rng.integers(0, 7200, len(arr))
            )
            self.on_order[arr[:, 0]] = 0
        if not products:
            return _movement_rows(day, *(np.zeros(0, dtype=np.int64),) * 5)
        product = np.concatenate(products)
        qty = np.concatenate(quantities)
        second = np.concatenate(seconds)
        order = np.lexsort((product, second))
        product, qty, second = product[order], qty[order], second[order]
        reference = np.concatenate(references)[order]
        # A product gets at most one delivery a day, so balances are one add each.
        np.add.at(self.stock, product, qty)
        return _movement_rows(
            day,
            product,
            np.full(len(product), MOVEMENT_RESTOCK),
            qty,
            self.stock[product],
            second,
            reference,
        )

    def _apply_prices(self, day: int) -> dict[str, np.ndarray]:
        plan = self.world.price_events
        start = self._price_cursor
        end = np.searchsorted(plan[:, 0], day, side="right")
        self._price_cursor = end
        rows = plan[start:end]
        # In plan order, so that of two prices on one day the later one holds.
        for _, _, p, source, price, _ in rows.tolist():
            if source != PRICE_COMPETITOR:
                self.price[p] = price
                self.on_promo[p] = source == PRICE_PROMOTION
        return {
            "day": rows[:, 0],
            "second": rows[:, 1],
            "product": rows[:, 2],
            "source": rows[:, 3],
            "price": rows[:, 4],
            "note": rows[:, 5],
        }

    def _season(self, day: int) -> tuple[float, np.ndarray]:
        w = self.world
        year = 2 * np.pi * day / 365.25
        overall = (
            w.weekly[day % 7]
            * (
                1
                + w.yearly_amplitude * np.cos(year - 2 * np.pi * w.yearly_peak / 365.25)
            )
            * np.exp(w.trend_per_year * day / 365.25)
        )
        per_category = (
            1 + w.season_amplitude * np.cos(year - 2 * np.pi * w.season_peak / 365.25)
        ) * np.exp(w.category_trend * day / 365.25)
        return float(overall), per_category

    def _visit_probability(self, day: int, overall: float) -> np.ndarray:
        w = self.world
        since_join = day - w.join_day
        rate = (
            w.visit_rate * overall * (1 + 2 * np.exp(-np.maximum(since_join, 0) / 14))
        )
        rate = np.where(
            day > w.churn_day,
            rate * np.exp(np.minimum(w.churn_day - day, 0) / 20),
            rate,
        )
        return np.where(since_join >= 0, np.minimum(rate, 0.9), 0.0)

    def _trade(self, day: int, rng, queries: list[str]) -> dict[str, dict]:
        """Play one day of visits: views, carts, checkouts against stock, orders."""
        w = self.world
        overall, per_category = self._season(day)
        visitors = np.flatnonzero(
            rng.random(len(w.usernames)) < self._visit_probability(day, overall)
        )
        n_sessions = len(visitors)
        session_ids = self.next_session + np.arange(n_sessions)
        self.next_session += n_sessions
        hour = np.where(
            rng.random(n_sessions) < 0.45,
            rng.normal(12.5, 2.5, n_sessions),
            rng.normal(20, 2, n_sessions),
        )
        start = np.clip(hour * 3600, 600, 86400 - 3600).astype(np.int64)
        steps = 1 + (rng.random(n_sessions) < 0.35) + (rng.random(n_sessions) < 0.12)
        alive = self._alive(day)
        opening = self.stock.copy()

        v_session, v_product, v_rank, search_rows = self._browse(
            rng, visitors, steps, per_category, alive, queries
        )
        order = np.lexsort((v_rank, v_session))
        v_session, v_product, v_rank = v_session[order], v_product[order], v_rank[order]
        v_second = start[v_session] + 45 * v_rank + rng.integers(0, 40, len(v_session))

        # Conversion: the category's elasticity, scaled by the customer's sensitivity.
        leaf = w.product_leaf[v_product]
        cart_p = cart_probability(
            relative_price=self.price[v_product] / w.base_price[v_product],
            elasticity=w.elasticity[leaf],
            sensitivity=w.price_sensitivity[visitors[v_session]],
            on_promotion=self.on_promo[v_product],
        )
        in_stock = opening[v_product] > 0
        carted = (rng.random(len(v_session)) < cart_p) & in_stock
        wants = carted & (rng.random(len(v_session)) < CHECKOUT_RATE)
        first_seen = np.unique(
            v_session * (len(w.sku) + 1) + v_product, return_index=True
        )[1]
        unique_view = np.zeros(len(v_session), dtype=bool)
        unique_view[first_seen] = True
        wants &= unique_view
        quantity = 1 + rng.poisson(np.maximum(w.mean_quantity[leaf] - 1, 0.0))

        # Stock: earlier checkouts get served first; the rest are censored.
        checkout_second = np.zeros(n_sessions, dtype=np.int64)
        if len(v_session):
            np.maximum.at(checkout_second, v_session, v_second + 150)
        s_idx, s_time, s_product, s_qty, balance = self._serve(
            np.flatnonzero(wants),
            checkout_second,
            v_session,
            v_product,
            quantity,
            opening,
        )

        # Orders: one per session that bought something, numbered by checkout time.
        s_session = v_session[s_idx]
        buying = np.unique(s_session)
        buying = buying[np.lexsort((buying, checkout_second[buying]))]
        order_seq = np.zeros(n_sessions, dtype=np.int64)
        order_seq[buying] = self.next_order + np.arange(len(buying))
        self.next_order += len(buying)
        line_order = np.lexsort((v_rank[s_idx], order_seq[s_session]))
        l_session = s_session[line_order]
        l_seq = order_seq[l_session]
        l_number = _group_rank(l_seq)
        l_product = s_product[line_order]
        l_qty = s_qty[line_order]
        l_price = self.price[l_product]
        totals = np.bincount(
            _positions(buying, l_session), l_qty * l_price, minlength=len(buying)
        )
        totals = np.rint(totals).astype(np.int64)
        last_leaf = w.product_leaf[l_product]
        self.last_category[visitors[l_session]] = last_leaf  # the last line wins

        orders = {
            "day": np.full(len(buying), day),
            "second": checkout_second[buying],
            "number": order_seq[buying],
            "customer": visitors[buying],
            "total": totals,
        }
        lines = {
            "day": np.full(len(l_seq), day),
            "order": l_seq,
            "line": l_number,
            "product": l_product,
            "quantity": l_qty,
            "price": l_price,
        }
        sale_order = np.lexsort((s_product, s_time))
        movements = _movement_rows(
            day,
            s_product[sale_order],
            np.full(len(s_idx), MOVEMENT_SALE),
            -s_qty[sale_order],
            balance[sale_order],
            s_time[sale_order],
            order_seq[s_session][sale_order],
        )
        events = self._events(
            day,
            visitors,
            session_ids,
            start,
            v_session,
            v_product,
            v_second,
            carted,
            s_session,
            s_product,
            s_qty,
            order_seq,
            checkout_second,
            search_rows,
        )
        return {
            "orders": orders,
            "lines": lines,
            "movements": movements,
            "events": events,
        }

    def _browse(self, rng, visitors, steps, per_category, alive, queries):
        """Return the views of today's sessions: (session, product, rank) arrays.

        A session visits up to three categories, drawn from the customer's tastes,
        the season and what they bought last (or looked at just before); in each it
        views the products it likes best (Gumbel top-k of a softmax).
        """
        w = self.world
        view_session, view_product, view_rank = [], [], []
        step_category = np.full(len(visitors), -1)
        search_rows = []
        for step in range(MAX_SESSION_STEPS):
            active = np.flatnonzero(steps > step)
            if not len(active):
                break
            customers = visitors[active]
            previous = (
                self.last_category[customers] if step == 0 else step_category[active]
            )
            mix = 0.3 if step == 0 else 0.6
            weights = w.affinity[customers] * per_category[None, :]
            follows = previous >= 0
            weights[follows] *= (1 - mix) + mix * len(w.leaf_names) * w.transition[
                previous[follows]
            ]
            category = _sample_rows(rng, weights)
            step_category[active] = category
            searching = active[rng.random(len(active)) < 0.15]
            for s in searching.tolist():
                queries.append(
                    names.search_query(rng, self.leaf_specs[step_category[s]])
                )
                search_rows.append((s, len(queries) - 1, step))
            for k in np.unique(category).tolist():
                members = active[category == k]
                products = self.leaf_products[k]
                products = products[alive[products]]
                if not len(products):
                    continue
                # Taste for the price tier: base prices, so that price changes move
                # demand only through the category's elasticity, as the truth says.
                sensitivity = w.price_sensitivity[visitors[members]]
                relative = self.price_tier[products]
                utility = (
                    np.log(w.quality[products])[None, :]
                    + np.log(w.promo_lift[k]) * self.on_promo[products][None, :]
                    - sensitivity[:, None] * relative[None, :]
                    + rng.gumbel(size=(len(members), len(products)))
                )
                n_views = np.minimum(
                    1 + rng.poisson(1.2, len(members)),
                    min(len(products), MAX_VIEWS_PER_STEP),
                )
                ranked = np.argsort(-utility, axis=1)[:, : n_views.max()]
                keep = np.arange(ranked.shape[1])[None, :] < n_views[:, None]
                rows, cols = np.nonzero(keep)
                view_session.append(members[rows])
                view_product.append(products[ranked[rows, cols]])
                view_rank.append(step * MAX_VIEWS_PER_STEP + cols)

        if not view_session:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, search_rows
        return (
            np.concatenate(view_session),
            np.concatenate(view_product),
            np.concatenate(view_rank),
            search_rows,
        )

    def _serve(self, c_idx, checkout_second, v_session, v_product, quantity, opening):
        """Take stock for the wanted lines, earliest checkout first.

        A line that would take a product below zero is not sold (censored demand).
        Return the served lines (view index, time, product, quantity, balance after).
        """
        c_time = checkout_second[v_session[c_idx]]
        c_product = v_product[c_idx]
        order = np.lexsort((v_session[c_idx], c_time, c_product))
        c_idx, c_time, c_product = c_idx[order], c_time[order], c_product[order]
        c_qty = quantity[c_idx]
        running = _group_cumsum(c_product, c_qty)
        served = running <= opening[c_product]
        np.add.at(self.lost_units, c_product[~served], c_qty[~served])
        self._requested = np.bincount(c_product, c_qty, minlength=len(self.stock))
        s_product, s_qty = c_product[served], c_qty[served]
        np.subtract.at(self.stock, s_product, s_qty)
        balance = opening[s_product] - running[served]
        return c_idx[served], c_time[served], s_product, s_qty, balance

    def _events(
        self,
        day,
        visitors,
        session_ids,
        start,
        v_session,
        v_product,
        v_second,
        carted,
        s_session,
        s_product,
        s_qty,
        order_seq,
        checkout_second,
        search_rows,
    ) -> dict[str, np.ndarray]:
        search = np.array(search_rows, dtype=np.int64).reshape(-1, 3)
        parts = [
            (
                EVENT_VIEW,
                v_session,
                v_product,
                np.zeros(len(v_session), dtype=np.int64),
                np.ones(len(v_session), dtype=np.int64),
                v_second,
                np.full(len(v_session), -1),
            ),
            (
                EVENT_CART,
                v_session[carted],
                v_product[carted],
                np.zeros(int(carted.sum()), dtype=np.int64),
                np.ones(int(carted.sum()), dtype=np.int64),
                v_second[carted] + 20,
                np.full(int(carted.sum()), -1),
            ),
            (
                EVENT_PURCHASE,
                s_session,
                s_product,
                order_seq[s_session],
                s_qty,
                checkout_second[s_session],
                np.full(len(s_session), -1),
            ),
            (
                EVENT_SEARCH,
                search[:, 0],
                np.full(len(search), -1),
                np.zeros(len(search), dtype=np.int64),
                np.ones(len(search), dtype=np.int64),
                start[search[:, 0]] + 45 * MAX_VIEWS_PER_STEP * search[:, 2] - 15,
                search[:, 1],
            ),
        ]
        kind = np.concatenate([np.full(len(p[1]), p[0]) for p in parts])
        session = np.concatenate([p[1] for p in parts]).astype(np.int64)
        second = np.concatenate([p[5] for p in parts]).astype(np.int64)
        order = np.lexsort((kind, second, session))
        session = session[order]
        return {
            "day": np.full(len(kind), day),
            "second": np.minimum(second[order], 86399),
            "kind": kind[order],
            "customer": visitors[session],
            "session": session_ids[session],
            "product": np.concatenate([p[2] for p in parts]).astype(np.int64)[order],
            "order": np.concatenate([p[3] for p in parts]).astype(np.int64)[order],
            "quantity": np.concatenate([p[4] for p in parts]).astype(np.int64)[order],
            "query": np.concatenate([p[6] for p in parts]).astype(np.int64)[order],
        }

    def _track_stockouts(self, day: int) -> None:
        out = self._alive(day) & (self.stock == 0)
        starting = out & (self.out_since < 0)
        self.out_since[starting] = day
        ending = ~out & (self.out_since >= 0)
        for p in np.flatnonzero(ending).tolist():
            self.stockouts.append(StockOut(p, int(self.out_since[p]), day - 1))
        self.out_since[ending] = -1

    def _reorder(self, day: int, rng, sold_today: np.ndarray) -> None:
        """Re-estimate demand and order stock where it falls below the reorder point."""
        w = self.world
        seen = np.maximum(sold_today, self._requested)
        self.demand_estimate = np.maximum(
            0.93 * self.demand_estimate + 0.07 * seen, 0.02
        )
        selling = (w.launch_day <= day) & (w.retire_day > day + 30)
        cover = self.demand_estimate * (w.lead_time + 4) + 1
        due = selling & (self.on_order == 0) & (self.stock <= cover)
        products = np.flatnonzero(due)
        if not len(products):
            return
        target = self.demand_estimate[products] * (w.lead_time[products] + 28) + 2
        qty = np.maximum(1, np.ceil(target - self.stock[products])).astype(np.int64)
        late = rng.random(len(products)) < 0.12
        factor = np.where(
            late,
            rng.uniform(1.5, 3.0, len(products)),
            rng.uniform(0.8, 1.2, len(products)),
        )
        arrive = day + np.maximum(1, np.round(w.lead_time[products] * factor)).astype(
            np.int64
        )
        self.on_order[products] = qty
        for p, q, d in zip(
            products.tolist(), qty.tolist(), arrive.tolist(), strict=True
        ):
            self.arrivals.setdefault(d, []).append((p, q, self.next_po))
            self.next_po += 1


def cart_probability(
    *,
    relative_price: np.ndarray,
    elasticity: np.ndarray,
    sensitivity: np.ndarray,
    on_promotion: np.ndarray,
) -> np.ndarray:
    """Return the chance that a view becomes an add-to-cart.

    Price relative to the product's base price moves it through the category's
    (negative) elasticity, scaled by the customer's price sensitivity; promotions
    add a lift of their own.
    """
    probability = CART_RATE * relative_price ** (elasticity * sensitivity)
    probability = np.where(on_promotion, probability * 1.25, probability)
    return np.minimum(probability, 0.9)


def _movement_rows(day, product, kind, quantity, balance, second, reference=None):
    if reference is None:
        reference = np.zeros(len(product), dtype=np.int64)
    return {
        "day": np.full(len(product), day, dtype=np.int64),
        "second": np.asarray(second, dtype=np.int64),
        "product": np.asarray(product, dtype=np.int64),
        "kind": np.asarray(kind, dtype=np.int64),
        "quantity": np.asarray(quantity, dtype=np.int64),
        "balance": np.asarray(balance, dtype=np.int64),
        "reference": np.asarray(reference, dtype=np.int64),
    }


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    keys = parts[0].keys()
    return {
        k: np.concatenate([np.asarray(p[k], dtype=np.int64) for p in parts])
        for k in keys
    }


def _sample_rows(rng, weights: np.ndarray) -> np.ndarray:
    """Return one column index per row, drawn in proportion to the row's weights."""
    cumulative = np.cumsum(weights, axis=1)
    draws = rng.random(len(weights)) * cumulative[:, -1]
    return np.minimum((cumulative < draws[:, None]).sum(axis=1), weights.shape[1] - 1)


def _group_cumsum(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return the running sum of values within runs of equal, sorted group keys."""
    total = np.cumsum(values)
    starts = (
        np.r_[True, groups[1:] != groups[:-1]] if len(groups) else np.zeros(0, bool)
    )
    offset = (
        np.maximum.accumulate(np.where(starts, total - values, 0))
        if len(groups)
        else total
    )
    return total - offset


def _group_rank(groups: np.ndarray) -> np.ndarray:
    """Return 1, 2, 3… within runs of equal, sorted group keys."""
    return _group_cumsum(groups, np.ones(len(groups), dtype=np.int64))


def _positions(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return where each value sits in keys (unique, in any order)."""
    index = np.argsort(keys)
    return index[np.searchsorted(keys, values, sorter=index)]
