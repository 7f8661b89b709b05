"""The fixed part of a simulated shop: tree, products, customers and price plans.

Pure NumPy, no Django. Everything here is drawn once per seed and holds for the
whole period, including the hidden truth (tastes, elasticities, seasonality) that
`simulation` plays out day by day. Days are indices 0..days-1 (negative: before
the period); prices are integer cents.
"""

from dataclasses import dataclass

import numpy as np

from . import names
from .images import category_recipes

NEVER = 10**6
# Products launched in the last weeks of the period reach the shop without a
# category: the image model files them (or queues them for review) once it serves.
NEW_ARRIVAL_DAYS = 60
SEGMENTS = ("new", "loyal", "lapsing")
PRICE_MANUAL, PRICE_PROMOTION, PRICE_COMPETITOR = 0, 1, 2
PRICE_NOTES = (
    "launch price",
    "price change",
    "promotion",
    "end of promotion",
    "competitor",
)


@dataclass(frozen=True)
class StoreSpec:
    seed: int = 7
    customers: int = 2000
    products: int = 500
    days: int = 365


@dataclass
class World:
    """Everything the simulation holds fixed, including the hidden truth."""

    spec: StoreSpec
    top_names: list[str]
    leaf_names: list[str]
    leaf_top: np.ndarray
    elasticity: np.ndarray
    promo_lift: np.ndarray
    season_amplitude: np.ndarray
    season_peak: np.ndarray
    category_trend: np.ndarray
    mean_quantity: np.ndarray
    leaf_lead_time: np.ndarray
    transition: np.ndarray
    weekly: np.ndarray
    yearly_amplitude: float
    yearly_peak: float
    trend_per_year: float
    recipes: list[dict]
    sku: list[str]
    product_names: list[str]
    product_leaf: np.ndarray
    base_price: np.ndarray
    cost: np.ndarray
    quality: np.ndarray
    launch_day: np.ndarray
    retire_day: np.ndarray
    lead_time: np.ndarray
    image_seed: np.ndarray
    usernames: list[str]
    first_names: list[str]
    last_names: list[str]
    places: list[tuple[str, str]]
    segment: np.ndarray
    join_day: np.ndarray
    churn_day: np.ndarray
    visit_rate: np.ndarray
    price_sensitivity: np.ndarray
    affinity: np.ndarray
    price_events: np.ndarray  # rows: day, second, product, source, price, note

    @property
    def new_arrivals(self) -> np.ndarray:
        """Return a mask of the products written without a category.

        Those launched in the last `NEW_ARRIVAL_DAYS` days, except the first product
        of each leaf, so that every category keeps an example to learn from. Drawn
        from the launch days, not the generator, so the rest of the store is unchanged.
        """
        recent = self.launch_day >= self.spec.days - NEW_ARRIVAL_DAYS
        keeps_leaf = np.arange(len(self.sku)) < len(self.leaf_names)
        return recent & ~keeps_leaf

    @property
    def leaf_paths(self) -> list[str]:
        return [
            f"{self.top_names[t]} > {leaf}"
            for t, leaf in zip(self.leaf_top, self.leaf_names, strict=True)
        ]


def build_world(spec: StoreSpec) -> World:
    """Draw the catalogue, the customers and the price plans for a spec."""
    if min(spec.customers, spec.products, spec.days) < 1:
        raise ValueError("customers, products and days must all be at least 1.")
    rng = np.random.default_rng([spec.seed, 0])
    pairs = names.leaves()
    n_leaves = len(pairs)
    top_names = [top.name for top in names.TREE]
    leaf_top = np.array([top_names.index(top.name) for top, _ in pairs])
    elasticity = np.array([rng.uniform(*top.elasticity_range) for top, _ in pairs])
    transition = _transition_matrix(rng, leaf_top)
    world_kwargs = {
        "spec": spec,
        "top_names": top_names,
        "leaf_names": [leaf.name for _, leaf in pairs],
        "leaf_top": leaf_top,
        "elasticity": elasticity,
        "promo_lift": rng.uniform(1.2, 2.0, n_leaves),
        "season_amplitude": rng.uniform(0.0, 0.5, n_leaves),
        "season_peak": rng.uniform(0, 365, n_leaves),
        "category_trend": rng.normal(0.0, 0.15, n_leaves),
        "mean_quantity": np.array([leaf.mean_quantity for _, leaf in pairs]),
        "leaf_lead_time": rng.integers(3, 22, n_leaves),
        "transition": transition,
        "weekly": _weekly_profile(rng),
        "yearly_amplitude": float(rng.uniform(0.08, 0.25)),
        "yearly_peak": float(rng.uniform(0, 365)),
        "trend_per_year": float(rng.uniform(0.05, 0.3)),
        "recipes": category_recipes(rng, leaf_top.tolist()),
    }
    world_kwargs.update(_products(rng, spec, pairs, world_kwargs["leaf_lead_time"]))
    world_kwargs.update(_customers(rng, spec, leaf_top))
    world = World(**world_kwargs, price_events=np.zeros((0, 6), dtype=np.int64))
    world.price_events = _price_plan(rng, world)
    return world


def _weekly_profile(rng) -> np.ndarray:
    profile = np.array([1.0, 0.95, 0.95, 1.0, 1.1, 1.25, 1.15]) * rng.uniform(
        0.95, 1.05, 7
    )
    return profile / profile.mean()


def _transition_matrix(rng, leaf_top: np.ndarray) -> np.ndarray:
    """Return which category a shopper tends to turn to next (rows sum to 1)."""
    n = len(leaf_top)
    matrix = np.full((n, n), 0.15 / n)
    for leaf in range(n):
        same_top = np.flatnonzero((leaf_top == leaf_top[leaf]) & (np.arange(n) != leaf))
        other = np.flatnonzero(leaf_top != leaf_top[leaf])
        picks = list(rng.choice(same_top, size=min(2, len(same_top)), replace=False))
        picks += list(rng.choice(other, size=2, replace=False))
        weights = rng.dirichlet(np.ones(len(picks)))
        matrix[leaf, picks] += 0.65 * weights
        matrix[leaf, leaf] += 0.2
    return matrix / matrix.sum(axis=1, keepdims=True)


def _nice_price(euros: np.ndarray) -> np.ndarray:
    """Return cents ending in .49/.99 below 10, .99 above."""
    cheap = np.maximum(1, np.round(euros * 2)) * 50 - 1
    dear = np.round(euros) * 100 - 1
    return np.where(euros < 10, cheap, dear).astype(np.int64)


def _products(rng, spec: StoreSpec, pairs, leaf_lead_time) -> dict:
    n, n_leaves = spec.products, len(pairs)
    leaf_weight = rng.uniform(0.5, 1.5, n_leaves)
    leaf = rng.choice(n_leaves, size=n, p=leaf_weight / leaf_weight.sum())
    leaf[: min(n, n_leaves)] = rng.permutation(n_leaves)[: min(n, n_leaves)]
    low = np.array([pairs[k][1].price_range[0] for k in leaf])
    high = np.array([pairs[k][1].price_range[1] for k in leaf])
    euros = np.exp(rng.uniform(np.log(low), np.log(high)))
    price = _nice_price(euros)
    launched_before = rng.random(n) < 0.8
    launch = np.where(
        launched_before, -rng.integers(1, 1000, n), rng.integers(0, spec.days, n)
    )
    retires = (rng.random(n) < 0.1) & (launch + 30 < spec.days - 1)
    retire = np.full(n, NEVER, dtype=np.int64)
    low_day = np.maximum(launch + 30, 0)
    retire[retires] = rng.integers(low_day[retires], spec.days)
    product_names = [
        names.product_name(rng, pairs[k][0], pairs[k][1]) for k in leaf.tolist()
    ]
    return {
        "sku": [f"DEMO-{i + 1:05d}" for i in range(n)],
        "product_names": product_names,
        "product_leaf": leaf,
        "base_price": price,
        "cost": np.round(price * rng.uniform(0.35, 0.65, n)).astype(np.int64),
        "quality": rng.lognormal(0.0, 0.8, n),
        "launch_day": launch.astype(np.int64),
        "retire_day": retire,
        "lead_time": np.maximum(1, leaf_lead_time[leaf] + rng.integers(-2, 3, n)),
        "image_seed": rng.integers(0, 2**31, n),
    }


def _customers(rng, spec: StoreSpec, leaf_top: np.ndarray) -> dict:
    n, days = spec.customers, spec.days
    is_new = rng.random(n) < 0.3
    is_loyal = ~is_new & (rng.random(n) < 0.55)
    segment = np.where(is_new, 0, np.where(is_loyal, 1, 2))
    join = np.where(is_new, rng.integers(0, days, n), -rng.integers(1, 730, n))
    churn = np.full(n, NEVER, dtype=np.int64)
    lapsing = segment == 2
    churn[lapsing] = rng.integers(
        int(days * 0.1), max(int(days * 0.9), 1) + 1, lapsing.sum()
    )
    later = is_new & (rng.random(n) < 0.4)
    churn[later] = join[later] + rng.integers(30, 400, later.sum())
    rate = rng.lognormal(np.log(0.02), 0.6, n) * np.where(is_loyal, 2.0, 1.0)
    n_tops = int(leaf_top.max()) + 1
    top_weight = rng.gamma(0.3, size=(n, n_tops)) + 1e-6
    top_weight /= top_weight.sum(axis=1, keepdims=True)
    leaf_weight = rng.gamma(0.8, size=(n, len(leaf_top))) + 1e-6
    one_hot = np.eye(n_tops)[leaf_top]
    leaf_weight /= (leaf_weight @ one_hot)[:, leaf_top]
    affinity = top_weight[:, leaf_top] * leaf_weight + 0.01 / len(leaf_top)
    affinity /= affinity.sum(axis=1, keepdims=True)
    first = rng.integers(len(names.FIRST_NAMES), size=n)
    last = rng.integers(len(names.LAST_NAMES), size=n)
    place = rng.integers(len(names.PLACES), size=n)
    # The showcase customer comes first: a loyal regular with a history to look at.
    usernames = ["demo"] + [f"demo-customer-{i:05d}" for i in range(1, n)]
    segment[0], join[0], churn[0], rate[0] = 1, -400, NEVER, 0.08
    return {
        "usernames": usernames,
        "first_names": [names.FIRST_NAMES[i] for i in first],
        "last_names": [names.LAST_NAMES[i] for i in last],
        "places": [names.PLACES[i] for i in place],
        "segment": segment,
        "join_day": join.astype(np.int64),
        "churn_day": churn,
        "visit_rate": rate,
        # Mean 1, so that the average customer reacts with the category's elasticity.
        "price_sensitivity": rng.lognormal(-(0.35**2) / 2, 0.35, n),
        "affinity": affinity.astype(np.float32),
    }


def _price_plan(rng, world: World) -> np.ndarray:
    """Return every planned own and competitor price as rows sorted by day."""
    days = world.spec.days
    rows: list[tuple[int, int, int, int, int, int]] = []
    competitor_watched = rng.random(len(world.sku)) < 0.3
    for p in range(len(world.sku)):
        start = int(max(world.launch_day[p], 0))
        end = int(min(world.retire_day[p], days))
        regular = int(world.base_price[p])
        rows.append((int(world.launch_day[p]), 60, p, PRICE_MANUAL, regular, 0))
        span = end - start
        if span < 2:
            continue
        n_promos = rng.poisson(2.0 * span / 365)
        promos = []
        for _ in range(n_promos):
            begin = int(rng.integers(start, end))
            length = int(rng.integers(5, 15))
            if all(begin > e + 3 or begin + length < b - 3 for b, e in promos):
                promos.append((begin, min(begin + length, end)))
        changes = sorted(
            int(d)
            for d in rng.integers(start + 1, end, rng.poisson(1.0 * span / 365))
            if all(not (b - 1 <= d <= e + 1) for b, e in promos)
        )
        timeline = [(d, "change") for d in changes] + [(b, "promo") for b, _ in promos]
        promo_end = dict(promos)
        for day, what in sorted(timeline):
            if what == "change":
                factor = float(np.exp(rng.normal(0.02, 0.1)))
                regular = int(_nice_price(np.array([regular * factor / 100]))[0])
                rows.append((day, 60, p, PRICE_MANUAL, regular, 1))
            else:
                discount = float(rng.uniform(0.1, 0.4))
                promo = max(1, int(round(regular * (1 - discount))))
                rows.append((day, 30, p, PRICE_PROMOTION, promo, 2))
                if promo_end[day] < end:
                    rows.append((promo_end[day], 30, p, PRICE_MANUAL, regular, 3))
        if competitor_watched[p]:
            for day in range(start + int(rng.integers(0, 14)), end, 14):
                noisy = regular * float(np.exp(rng.normal(0.0, 0.08)))
                rows.append((day, 3600 * 9, p, PRICE_COMPETITOR, int(round(noisy)), 4))
    plan = np.array(rows, dtype=np.int64).reshape(-1, 6)
    return plan[np.lexsort((plan[:, 2], plan[:, 1], plan[:, 0]))]
