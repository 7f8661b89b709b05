"""Price forecasts: where each product's price is heading, with P10/P90.

`PriceForecaster` simulates each series' future prices from what its history shows:
promotions start with the empirical probability for the time since the last one
started (so a promotion every fourth week recurs on schedule, random ones at their
rate), last as long as they used to, and cut the price by a depth drawn from the
series' past promotions (a running one keeps its depth); outside promotions the
price keeps its last regular ratio to the list price, redrawn from past regular
ratios at the rate it used to move, and the list price changes at the historical
rate and size. Where competitor prices were imported, the paths are pulled toward
the shop's usual position against the competitor, as far as the history shows the
shop following a gap (a regression of later regular-price moves on the gap); where
unit costs were imported, no path goes below the cost. Quantiles of the simulated
paths are the forecast; planned prices are returned exactly. `LastPrice` is the
baseline. Both follow the `Forecaster` protocol with prices in place of units.
"""

from dataclasses import dataclass

import numpy as np

from .baselines import Pickled, forward_filled
from .metrics import coverage, mase, naive_scale, pinball
from .panel import Panel

DISCOUNT = 0.03  # a price this far below the list price counts as a promotion
MIN_CASES = 3  # fewer periods at a gap than this: use the overall start rate
MIN_PULL_CASES = 12  # periods with a competitor price needed to learn the pull
PULL_NOISE = 0.01  # log gaps this small are shrunk toward no pull (ridge)
PULL_T = 2.0  # a pull is used only this many standard errors above none


def history_prices(panel: Panel) -> tuple[np.ndarray, np.ndarray]:
    """(price, list price) over the history, gaps filled with the last known value."""
    t = panel.n_periods
    price = panel.price[:, :t].astype(np.float64)
    base = panel.base_price[:, :t].astype(np.float64)
    price[~np.isfinite(price) | (price <= 0)] = np.nan
    base[~np.isfinite(base) | (base <= 0)] = np.nan
    price, base = forward_filled(price), forward_filled(base)
    base = np.where(np.isnan(base), price, base)
    return price, base


def with_plans(panel: Panel, forecast: np.ndarray) -> np.ndarray:
    """The forecast with planned periods set to the planned price on every quantile."""
    future = panel.price[:, panel.n_periods :].astype(np.float32)
    planned = panel.planned & np.isfinite(future)
    forecast = forecast.copy()
    forecast[planned] = future[planned][:, None]
    return forecast


def at_or_above_cost(panel: Panel, forecast: np.ndarray) -> np.ndarray:
    """The forecast floored at the unit cost where one was imported, then with
    planned periods at the planned price (a plan may go below cost)."""
    floor = cost_floor(panel)
    if floor is not None:
        forecast = np.fmax(forecast, floor[..., None]).astype(forecast.dtype)
    return with_plans(panel, forecast)


@dataclass
class LastPrice(Pickled):
    """The last observed price, with intervals from past h-step price changes."""

    name: str = "last-price"

    def fit(self, panel: Panel) -> "LastPrice":
        return self

    def predict(self, panel: Panel) -> np.ndarray:
        price, _ = history_prices(panel)
        last = price[:, -1]
        out = np.empty((panel.n_series, panel.horizon, 3), dtype=np.float32)
        logs = np.log(price)
        for h in range(1, panel.horizon + 1):
            if price.shape[1] > h:
                changes = logs[:, h:] - logs[:, :-h]
                ok = np.isfinite(changes).sum(axis=1) > 0
                low = np.zeros(len(last))
                high = np.zeros(len(last))
                if ok.any():
                    low[ok], high[ok] = np.nanquantile(changes[ok], [0.1, 0.9], axis=1)
            else:
                low = high = np.zeros(len(last))
            low, high = np.minimum(low, 0.0), np.maximum(high, 0.0)
            out[:, h - 1] = np.stack(
                [last * np.exp(low), last, last * np.exp(high)], axis=1
            )
        return np.nan_to_num(out)


@dataclass
class PriceForecaster(Pickled):
    """Simulated price paths from recurring promotions and list-price changes."""

    name: str = "price-forecast"
    paths: int = 400
    seed: int = 0
    max_gap: int = 0  # periods since the last promotion start tracked; 0 = 2 seasons
    use_competitor: bool = True  # pull toward imported competitor prices
    use_cost: bool = True  # floor at imported unit costs

    def fit(self, panel: Panel) -> "PriceForecaster":
        return self  # each series' pattern is read from the history predict is given

    def predict(self, panel: Panel) -> np.ndarray:
        price, base = history_prices(panel)
        rng = np.random.default_rng(self.seed)
        max_gap = self.max_gap or 2 * panel.season_length
        rival = competitor_prices(panel) if self.use_competitor else None
        floor = cost_floor(panel) if self.use_cost else None
        out = np.zeros((panel.n_series, panel.horizon, 3), dtype=np.float32)
        for i in range(panel.n_series):
            if np.isnan(price[i, -1]):
                continue
            paths = self._paths(price[i], base[i], panel.horizon, max_gap, rng)
            if rival is not None:
                paths *= competitor_pull(price[i], base[i], rival[i], panel.horizon)
            if floor is not None:
                paths = np.fmax(paths, floor[i])  # NaN floor: cost unknown
            out[i] = np.quantile(paths, [0.1, 0.5, 0.9], axis=0).T
        return with_plans(panel, out)

    def _paths(self, price, base, horizon, max_gap, rng) -> np.ndarray:
        """Simulated prices [paths, horizon] for one series."""
        seen = ~np.isnan(price)
        price, base = price[seen], base[seen]
        ratio = price / base
        promo = ratio < 1 - DISCOUNT
        starts = promo & ~np.concatenate([[False], promo[:-1]])
        start_prob, stay_prob = self._promotion_rhythm(promo, starts, max_gap)
        depths = ratio[promo] if promo.any() else np.array([1.0])
        regular = ratio[~promo] if (~promo).any() else np.array([1.0])
        moved = np.abs(np.diff(regular)) > 0.005  # regular prices drift now and then
        move_rate = float(moved.mean()) if moved.size else 0.0
        list_changes = np.diff(np.log(base))
        change_rate = float(np.mean(list_changes != 0)) if list_changes.size else 0.0
        change_sizes = list_changes[list_changes != 0]

        n = self.paths
        since = np.full(n, _periods_since_start(starts, max_gap))
        on_promo = np.full(n, bool(promo[-1]))
        level = np.full(n, np.log(base[-1]))
        current = np.full(n, ratio[-1])  # prices are sticky: a state keeps its ratio
        out = np.empty((n, horizon))
        for h in range(horizon):
            if change_sizes.size:
                moves = rng.random(n) < change_rate
                level[moves] += rng.choice(change_sizes, moves.sum())
            stay = on_promo & (rng.random(n) < stay_prob)
            chance = start_prob[np.minimum(since + 1, max_gap)]
            start = ~on_promo & (rng.random(n) < chance)
            since = np.where(start, 0, np.minimum(since + 1, max_gap))
            current = np.where(start, rng.choice(depths, n), current)
            back = on_promo & ~stay
            current = np.where(back, regular[-1], current)
            drift = ~on_promo & ~start & (rng.random(n) < move_rate)
            current = np.where(drift, rng.choice(regular, n), current)
            on_promo = stay | start
            out[:, h] = np.exp(level) * current
        return out

    @staticmethod
    def _promotion_rhythm(promo, starts, max_gap):
        """P(a promotion starts | periods since the last start) and P(one continues)."""
        overall = starts.sum() / max(len(starts) - promo.sum(), 1)
        start_prob = np.full(max_gap + 1, overall)
        first = np.flatnonzero(starts)
        if first.size:
            since = np.full(len(starts), max_gap)
            for t in range(first[0] + 1, len(starts)):
                since[t] = 0 if starts[t] else min(since[t - 1] + 1, max_gap)
            since_before = np.concatenate([[max_gap], since[:-1]])
            gap = np.minimum(since_before + 1, max_gap)
            at_risk = ~np.concatenate([[False], promo[:-1]])  # not already on promotion
            for g in range(1, max_gap + 1):
                cases = at_risk & (gap == g)
                cases[: first[0] + 1] = False
                if cases.sum() >= MIN_CASES:
                    start_prob[g] = starts[cases].mean()
        continuing = promo[1:][promo[:-1]]
        stay_prob = float(continuing.mean()) if continuing.size else 0.0
        return start_prob, stay_prob


def competitor_prices(panel: Panel) -> np.ndarray | None:
    """Competitor prices over the history, gaps carried forward; None if none."""
    if panel.competitor_price is None:
        return None
    rival = panel.competitor_price[:, : panel.n_periods].astype(np.float64)
    rival[~(rival > 0)] = np.nan
    return forward_filled(rival) if np.isfinite(rival).any() else None


def cost_floor(panel: Panel) -> np.ndarray | None:
    """The unit cost [n_series, horizon] no price path goes below: a future cost
    where given, else the last known one; NaN where unknown, None if none at all."""
    if panel.cost is None:
        return None
    cost = panel.cost.astype(np.float64)
    cost[~(cost >= 0)] = np.nan
    if not np.isfinite(cost).any():
        return None
    t = panel.n_periods
    last = forward_filled(cost[:, :t])[:, -1:]
    future = cost[:, t:]
    return np.where(np.isfinite(future), future, last)


def competitor_pull(price, base, rival, horizon: int) -> np.ndarray:
    """Factors [horizon] moving a series' price toward its usual competitor gap.

    The gap is log(competitor price / regular price), the regular price being the
    price outside promotions. For each step h, the share of a gap's deviation from
    its median that the regular price made up h periods later is fitted on the
    history (least squares through the origin, shrunk where deviations are small,
    between 0 and 1); the last deviation times that share is the pull.
    """
    factors = np.ones(horizon)
    with np.errstate(invalid="ignore", divide="ignore"):
        regular = np.where(price / base >= 1 - DISCOUNT, price, np.nan)
        regular = np.log(forward_filled(regular[None])[0])
        gap = np.log(rival) - regular
    known = np.isfinite(gap)
    if known.sum() < MIN_PULL_CASES or not known[-1]:
        return factors
    deviation = gap - np.median(gap[known])
    for h in range(1, horizon + 1):
        x, moved = deviation[:-h], regular[h:] - regular[:-h]
        ok = np.isfinite(x) & np.isfinite(moved)
        if ok.sum() < MIN_PULL_CASES:  # too short a history for this step
            factors[h - 1 :] = factors[h - 2] if h > 1 else 1.0
            break
        x, moved = x[ok], moved[ok]
        share = (x @ moved) / (x @ x + len(x) * PULL_NOISE**2)
        spread = np.sqrt(np.mean((moved - share * x) ** 2) * h / (x @ x + 1e-12))
        if share < PULL_T * spread:  # no clear following (h-step moves overlap)
            share = 0.0
        factors[h - 1] = np.exp(np.clip(share, 0.0, 1.0) * deviation[-1])
    return factors


def _periods_since_start(starts: np.ndarray, max_gap: int) -> int:
    found = np.flatnonzero(starts)
    return int(min(len(starts) - 1 - found[-1], max_gap)) if found.size else max_gap


def price_metrics(history, actual, forecast, season=1, censored=None) -> dict:
    """`mase` (scaled by the in-sample naive error of each price series), `pinball`
    (scaled the same way) and `coverage_p10_p90` of a price forecast."""
    scale = naive_scale(history, season, 1)
    return {
        "mase": mase(history, actual, forecast, season, censored),
        "pinball": pinball(actual, forecast, censored, scale=scale),
        "coverage_p10_p90": coverage(actual, forecast, censored),
    }
