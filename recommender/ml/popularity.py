"""Popularity recommenders: recent popularity overall and within each customer's categories.

`RecentPopularity` is the baseline every recommender must beat. `CategoryPopularity`
blends what is popular in the categories a customer buys from with overall popularity;
it is the first model served while the sequence models are not there yet.
"""

import io
from dataclasses import dataclass

import numpy as np

from .protocol import Interactions


def decayed_counts(data: Interactions, half_life_days: float) -> np.ndarray:
    """Return each item's weighted interaction count (a purchase counts 1, browsing
    less), halving every `half_life_days` into the past."""
    if len(data.day) == 0:
        return np.zeros(data.n_items)
    age = data.day.max() - data.day
    weights = 0.5 ** (age / max(half_life_days, 1e-6))
    if data.weight is not None:
        weights = weights * data.weight
    return np.bincount(data.item, weights=weights, minlength=data.n_items)


def _normalise(values: np.ndarray) -> np.ndarray:
    total = values.sum()
    return (
        values / total if total > 0 else np.full_like(values, 1.0 / max(len(values), 1))
    )


@dataclass
class RecentPopularity:
    """Score every item by its recent popularity, the same for everyone."""

    half_life_days: float = 30.0
    scores: np.ndarray | None = None
    algorithm = "recent-popularity"

    def fit(self, data: Interactions) -> "RecentPopularity":
        self.scores = _normalise(decayed_counts(data, self.half_life_days))
        return self

    def score(self, history: Interactions, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.scores, (len(users), len(self.scores)))

    def to_bytes(self, **extra) -> bytes:
        return _save(
            algorithm=self.algorithm,
            half_life_days=self.half_life_days,
            scores=self.scores,
            **extra,
        )

    @classmethod
    def from_arrays(cls, arrays) -> "RecentPopularity":
        return cls(float(arrays["half_life_days"]), arrays["scores"])


@dataclass
class CategoryPopularity:
    """Score = affinity(customer, category of item) × popularity within that category,
    blended with overall popularity by `global_weight`.

    A customer's affinity is their decayed share of purchases per category, smoothed
    towards the shop-wide category shares by `prior_strength` purchases.
    """

    item_category: np.ndarray
    n_categories: int
    half_life_days: float = 30.0
    global_weight: float = 0.2
    prior_strength: float = 2.0
    item_scores: np.ndarray | None = None
    global_scores: np.ndarray | None = None
    category_prior: np.ndarray | None = None
    algorithm = "category-popularity"

    def fit(self, data: Interactions) -> "CategoryPopularity":
        counts = decayed_counts(data, self.half_life_days) + 1e-9
        per_category = np.bincount(
            self.item_category, weights=counts, minlength=self.n_categories
        )
        self.item_scores = counts / per_category[self.item_category]
        self.global_scores = _normalise(counts)
        self.category_prior = _normalise(per_category)
        return self

    def affinity(self, history: Interactions, users: np.ndarray) -> np.ndarray:
        """Return (len(users), n_categories) smoothed category shares of the users."""
        rows, index = history.rows_of(users)  # users are distinct
        cats = self.item_category[history.item[index]]
        age = (history.day.max() - history.day[index]) if len(index) else np.zeros(0)
        weights = 0.5 ** (age / max(self.half_life_days * 4, 1e-6))
        if history.weight is not None:
            weights = weights * history.weight[index]
        shares = np.zeros((len(users), self.n_categories))
        np.add.at(shares, (rows, cats), weights)
        totals = shares.sum(axis=1, keepdims=True)
        return (shares + self.prior_strength * self.category_prior) / (
            totals + self.prior_strength
        )

    def score(self, history: Interactions, users: np.ndarray) -> np.ndarray:
        affinity = self.affinity(history, users)
        scores = affinity[:, self.item_category]  # the one full-size array
        scores *= self.item_scores[None, :]
        scores *= 1 - self.global_weight
        scores += self.global_weight * self.global_scores
        return scores

    def to_bytes(self, **extra) -> bytes:
        return _save(
            **extra,
            algorithm=self.algorithm,
            item_category=self.item_category,
            n_categories=self.n_categories,
            half_life_days=self.half_life_days,
            global_weight=self.global_weight,
            prior_strength=self.prior_strength,
            item_scores=self.item_scores,
            global_scores=self.global_scores,
            category_prior=self.category_prior,
        )

    @classmethod
    def from_arrays(cls, arrays) -> "CategoryPopularity":
        return cls(
            item_category=arrays["item_category"],
            n_categories=int(arrays["n_categories"]),
            half_life_days=float(arrays["half_life_days"]),
            global_weight=float(arrays["global_weight"]),
            prior_strength=float(arrays["prior_strength"]),
            item_scores=arrays["item_scores"],
            global_scores=arrays["global_scores"],
            category_prior=arrays["category_prior"],
        )


def _save(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
    return buffer.getvalue()


def load_model(artifact: bytes):
    """Return (model, arrays); kept for old imports, see `models.load_model`."""
    from .models import load_model as load  # models imports this module

    return load(artifact)
