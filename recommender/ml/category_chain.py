"""A hierarchical "next category, then product" recommender with a category Markov chain.

In the spirit of FPMC (Rendle et al., 2010), factorised by category: a customer's next
purchase is scored as

    log P(category | customer) + log P(product | category)

where P(category | customer) is a softmax over categories of

    affinity_scale × log(customer's smoothed, decayed category shares)
    + transition[category of the previous purchase, category] + category_bias

(a personal taste term and a first-order Markov chain over categories), and
P(product | category) is the product's recent, decayed share of its category's
interactions. The transition matrix, the affinity scale and the bias are fitted by
maximum likelihood (L-BFGS, L2 on the transitions) on the training purchases, each
predicted from what was known the night before it; smoothing and half-lives are the
caller's to tune on validation. Scoring a customer is a few array operations.
"""

import io
from dataclasses import dataclass, fields

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax

from .popularity import decayed_counts
from .protocol import Interactions

MAX_EVENTS = 20_000  # purchases the chain is fitted on (a seeded sample beyond this)
MAX_CELLS = 2_000_000  # and at most this many purchases × categories: fast fits
GAP_DAYS = 1.0  # a purchase is predicted from what was known the night before


def _purchases(data: Interactions) -> np.ndarray:
    """Which rows are purchases (weight 1); browsing weighs less."""
    if data.weight is None:
        return np.ones(len(data.user), bool)
    return data.weight >= 1.0


def _row_sums(values: np.ndarray, rows, starts, n_rows: int) -> np.ndarray:
    """Sum `values` (sorted by group) per group: rows[g] is group g's row in the out."""
    out = np.zeros((n_rows, values.shape[1]))
    out[rows] = np.add.reduceat(values, starts, axis=0)
    return out


@dataclass
class CategoryChain:
    """Score = log P(category | taste, previous purchase's category) + log P(product |
    category, recent popularity). See the module docstring."""

    item_category: np.ndarray
    n_categories: int
    half_life_days: float = 30.0  # product popularity within its category
    affinity_half_life_days: float = 180.0  # a customer's category shares
    prior_strength: float = 2.0  # purchases' worth of shop-wide shares in a taste
    l2: float = 1.0  # on the transition logits, per fitted purchase
    item_smoothing: float = 0.1  # decayed interactions added to every product
    browse_weight: float = 1.0  # multiplies the weight of views and cart adds
    seed: int = 0
    item_log_prob: np.ndarray | None = None
    category_prior: np.ndarray | None = None
    transition: np.ndarray | None = None  # (n_categories + 1, n_categories); last: none
    category_bias: np.ndarray | None = None
    affinity_scale: float = 1.0
    algorithm = "category-chain"

    # --- fitting ------------------------------------------------------------------
    def fit(self, data: Interactions) -> "CategoryChain":
        purchase = _purchases(data)
        data = self._reweighted(data)
        item_category = np.asarray(self.item_category, np.int64)
        n_cat = self.n_categories
        counts = decayed_counts(data, self.half_life_days) + self.item_smoothing
        per_category = np.bincount(item_category, weights=counts, minlength=n_cat)
        self.item_log_prob = np.log(counts / per_category[item_category])
        shares = np.bincount(
            item_category, weights=counts - self.item_smoothing, minlength=n_cat
        )
        total = shares.sum()
        self.category_prior = (
            shares / total if total > 0 else np.full(n_cat, 1.0 / max(n_cat, 1))
        ) * 0.99 + 0.01 / max(n_cat, 1)
        log_affinity, previous, target = self._events(data, purchase)
        self._fit_chain(log_affinity, previous, target)
        return self

    def _reweighted(self, data: Interactions) -> Interactions:
        if data.weight is None or self.browse_weight == 1.0:
            return data
        weight = np.where(
            _purchases(data), data.weight, data.weight * self.browse_weight
        )
        return Interactions(
            data.user, data.item, data.day, data.n_users, data.n_items, weight
        )

    def _events(self, data: Interactions, purchase: np.ndarray):
        """Return (log affinity, previous category, category) of training purchases,
        each from the customer's interactions up to the night before it."""
        n_cat = self.n_categories
        category = np.asarray(self.item_category, np.int64)[data.item]
        weight = np.ones(len(data.user)) if data.weight is None else data.weight
        order = np.lexsort((np.arange(len(data.user)), data.day, data.user))
        user, day = data.user[order], data.day[order]
        category, weight, purchase = category[order], weight[order], purchase[order]
        targets = np.flatnonzero(purchase)
        if len(targets) == 0:
            return np.zeros((0, n_cat)), np.zeros(0, np.int64), np.zeros(0, np.int64)
        most = min(MAX_EVENTS, max(MAX_CELLS // max(n_cat, 1), 1_000))
        if len(targets) > most:
            rng = np.random.default_rng(self.seed)
            targets = np.sort(rng.choice(targets, most, replace=False))
        # Rows known at each target: those of the same customer before day - gap.
        starts = np.searchsorted(user, user[targets], side="left")
        key = user.astype(np.float64) * 1e6 + (day - day.min())
        ends = np.searchsorted(key, key[targets] - GAP_DAYS, side="left")
        ends = np.maximum(ends, starts)
        # Decayed weighted counts per category, as prefix sums (relative to each
        # customer's first day, so the exponentials stay in range).
        first_day = day[np.searchsorted(user, user)]
        rate = np.log(2.0) / max(self.affinity_half_life_days, 1e-6)
        grow = np.exp(np.minimum((day - first_day) * rate, 600.0))
        affinity = np.zeros((len(targets), n_cat))
        for c in np.unique(category).tolist():
            prefix = np.r_[0.0, np.cumsum(np.where(category == c, weight * grow, 0.0))]
            affinity[:, c] = prefix[ends] - prefix[starts]
        at = np.exp(-np.minimum((day[targets] - first_day[targets]) * rate, 600.0))
        affinity *= at[:, None]
        log_affinity = np.log(self._smooth(affinity))
        # The previous purchase: the last purchase row among the known ones.
        last_purchase = np.maximum.accumulate(
            np.where(purchase, np.arange(len(user)), -1)
        )
        before = np.where(ends > 0, last_purchase[np.maximum(ends - 1, 0)], -1)
        previous = np.where(before >= starts, category[np.maximum(before, 0)], n_cat)
        return log_affinity, previous, category[targets]

    def _smooth(self, affinity: np.ndarray) -> np.ndarray:
        totals = affinity.sum(axis=1, keepdims=True)
        return (affinity + self.prior_strength * self.category_prior) / (
            totals + self.prior_strength
        )

    def _fit_chain(self, log_affinity, previous, target) -> None:
        n_cat = self.n_categories
        n = len(target)
        self.transition = np.zeros((n_cat + 1, n_cat))
        self.category_bias = np.zeros(n_cat)
        self.affinity_scale = 1.0
        if n == 0:
            return
        order = np.argsort(previous, kind="stable")
        log_affinity, previous, target = (
            log_affinity[order],
            previous[order],
            target[order],
        )
        rows, starts = np.unique(previous, return_index=True)
        picked = (np.arange(n), target)
        size = (n_cat + 1) * n_cat
        l2 = self.l2 / n
        counts = np.zeros((n, n_cat))
        counts[picked] = 1.0
        g_data = -np.concatenate(  # the gradient's data part that does not change
            [
                _row_sums(counts, rows, starts, n_cat + 1).ravel(),
                counts.sum(axis=0),
                [log_affinity[picked].sum()],
            ]
        )

        def loss(theta):
            transition = theta[:size].reshape(n_cat + 1, n_cat)
            bias = theta[size : size + n_cat]
            scale = theta[-1]
            logits = np.take(transition + bias, previous, axis=0)  # in place below
            logits += scale * log_affinity
            logits -= logits.max(axis=1, keepdims=True)
            picked_logit = logits[picked]  # a copy: exp below is in place
            p = np.exp(logits, out=logits)
            norm = p.sum(axis=1)
            p /= norm[:, None]
            value = (np.log(norm) - picked_logit).sum() / n
            value += 0.5 * l2 * (transition**2).sum()
            gradient = g_data + np.concatenate(
                [
                    _row_sums(p, rows, starts, n_cat + 1).ravel(),
                    p.sum(axis=0),
                    [np.vdot(p, log_affinity)],
                ]
            )
            gradient /= n
            gradient[:size] += l2 * theta[:size]
            return value, gradient

        theta = np.zeros(size + n_cat + 1)
        theta[-1] = 1.0
        result = minimize(
            loss,
            theta,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 200, "ftol": 1e-7},
        )
        theta = result.x
        self.transition = theta[:size].reshape(n_cat + 1, n_cat)
        self.category_bias = theta[size : size + n_cat]
        self.affinity_scale = float(theta[-1])

    # --- scoring ------------------------------------------------------------------
    def category_log_prob(self, history: Interactions, users: np.ndarray):
        """Return (len(users), n_categories) log P(next category) of the users."""
        n_cat = self.n_categories
        users = np.asarray(users, np.int64)
        rows, index = history.rows_of(users)  # users are distinct
        bought = _purchases(history)[index]
        item_category = np.asarray(self.item_category, np.int64)
        cats = item_category[history.item[index]]
        day = history.day[index]
        weight = np.ones(len(rows)) if history.weight is None else history.weight[index]
        weight = np.where(bought, weight, weight * self.browse_weight)
        last_day = np.full(len(users), -np.inf)
        np.maximum.at(last_day, rows, day)
        rate = np.log(2.0) / max(self.affinity_half_life_days, 1e-6)
        decay = np.exp(-(last_day[rows] - day) * rate) if len(rows) else day
        affinity = np.zeros((len(users), n_cat))
        np.add.at(affinity, (rows, cats), weight * decay)
        # The previous purchase: latest day, then latest row, among purchases.
        previous = np.full(len(users), n_cat)
        if bought.any():
            b_rows, b_day, b_cat = rows[bought], day[bought], cats[bought]
            order = np.lexsort((np.arange(len(b_rows)), b_day, b_rows))
            last = np.r_[b_rows[order][1:] != b_rows[order][:-1], True]
            previous[b_rows[order][last]] = b_cat[order][last]
        logits = (
            self.affinity_scale * np.log(self._smooth(affinity))
            + self.category_bias
            + self.transition[previous]
        )
        return log_softmax(logits, axis=1)

    def score(self, history: Interactions, users: np.ndarray) -> np.ndarray:
        log_p = self.category_log_prob(history, users)
        scores = log_p[:, np.asarray(self.item_category, np.int64)]
        scores += self.item_log_prob[None, :]
        return scores

    def contributions(self, history_items: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Return (n, r, h) how much each history item (most recent first, -1 padded)
        raised each recommended item: the most recent purchase through the chain's
        transition to the item's category, any purchase through the same category."""
        item_category = np.asarray(self.item_category, np.int64)
        padded = np.r_[item_category, -1]
        h_cat, r_cat = padded[history_items], padded[items]
        same = (h_cat[:, None, :] == r_cat[:, :, None]) & (h_cat[:, None, :] >= 0)
        recency = 1.0 / (1.0 + np.arange(history_items.shape[1]))
        out = np.where(same, self.affinity_scale * recency[None, None, :], 0.0)
        latest = h_cat[:, 0] if history_items.shape[1] else np.zeros(0, np.int64)
        follows = self.transition[np.where(latest >= 0, latest, self.n_categories)]
        lift = np.take_along_axis(follows, np.maximum(r_cat, 0), axis=1)
        lift = np.where((r_cat >= 0) & (latest[:, None] >= 0), lift, 0.0)
        if history_items.shape[1]:
            out[:, :, 0] = np.maximum(out[:, :, 0], lift)
        return out

    # --- artifact -----------------------------------------------------------------
    def to_bytes(self, **extra) -> bytes:
        buffer = io.BytesIO()
        arrays = {f.name: getattr(self, f.name) for f in fields(self)}
        arrays = dict(extra, algorithm=self.algorithm, **arrays)
        np.savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
        return buffer.getvalue()

    @classmethod
    def from_arrays(cls, arrays) -> "CategoryChain":
        """The chain `to_bytes` wrote: settings as Python numbers, the rest arrays."""
        values = {f.name: arrays[f.name] for f in fields(cls)}
        return cls(**{k: v.item() if v.ndim == 0 else v for k, v in values.items()})
