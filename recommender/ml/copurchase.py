""" "Frequently bought together": for each item, the items most often in its baskets."""

import io
import json
from dataclasses import dataclass

import numpy as np

from .neighbours import distinct_last, pair_sums, top_per_row


@dataclass
class BoughtTogether:
    """Top `k` companions per item from baskets (an order's distinct items).

    Score of j for i: confidence c(i, j) / c(i) (the share of i's baskets that also
    hold j) or lift c(i, j)·N / (c(i)·c(j)); pairs in fewer than `min_support` baskets
    are left out. Baskets larger than `max_basket` keep their first items only.
    """

    k: int = 20
    min_support: int = 2
    measure: str = "confidence"  # or "lift"
    max_basket: int = 50
    neighbours: np.ndarray | None = None  # (n_items, k) item indices, -1 padded
    scores: np.ndarray | None = None  # (n_items, k) float32, 0 padded
    algorithm = "bought-together"

    def fit(self, basket: np.ndarray, item: np.ndarray, n_items: int):
        order = np.argsort(basket, kind="stable")
        group, items, weight = distinct_last(
            basket[order], item[order], None, self.max_basket
        )
        baskets = np.bincount(items, minlength=n_items).astype(np.float64)
        i, j, together = pair_sums(group, items, weight, n_items)
        keep = together >= self.min_support
        i, j, together = i[keep], j[keep], together[keep].astype(np.float64)
        if self.measure == "lift":
            total = len(np.unique(group))
            value = together * total / (baskets[i] * baskets[j])
        else:
            value = together / baskets[i]
        # Ties: the more often bought companion first.
        value = value + baskets[j] * 1e-9
        self.neighbours, scores = top_per_row(i, j, value, n_items, self.k)
        self.scores = np.where(
            self.neighbours >= 0, scores - 1e-9 * baskets[self.neighbours], 0.0
        ).astype(np.float32)
        return self

    def to_bytes(self, **extra) -> bytes:
        buffer = io.BytesIO()
        config = {
            "k": self.k,
            "min_support": self.min_support,
            "measure": self.measure,
            "max_basket": self.max_basket,
        }
        np.savez(
            buffer,
            **{key: np.asarray(value) for key, value in extra.items()},
            algorithm=np.asarray(self.algorithm),
            config=np.asarray(json.dumps(config)),
            neighbours=self.neighbours,
            scores=self.scores,
        )
        return buffer.getvalue()

    @classmethod
    def from_arrays(cls, arrays) -> "BoughtTogether":
        return cls(
            **json.loads(str(arrays["config"])),
            neighbours=arrays["neighbours"],
            scores=arrays["scores"],
        )


def with_fallback(
    primary: BoughtTogether, fallback: BoughtTogether, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fill each item's list from `primary` first, then from `fallback`.

    Return (neighbours, scores, source) of shape (n_items, k): -1 / 0 padded, source
    0 for a primary entry and 1 for a fallback one. Used to complete "bought
    together" (same order) with "bought by the same customers" where orders are
    small, as in shops where most orders hold one or two products.
    """
    n_items = primary.neighbours.shape[0]
    neighbours = np.full((n_items, k), -1, dtype=np.int64)
    scores = np.zeros((n_items, k), dtype=np.float32)
    source = np.zeros((n_items, k), dtype=np.int8)
    for item in range(n_items):
        filled = 0
        taken = set()
        for kind, model in ((0, primary), (1, fallback)):
            for other, score in zip(
                model.neighbours[item].tolist(),
                model.scores[item].tolist(),
                strict=True,
            ):
                if filled == k:
                    break
                if other < 0 or other == item or other in taken:
                    continue
                neighbours[item, filled], scores[item, filled] = other, score
                source[item, filled] = kind
                taken.add(other)
                filled += 1
    return neighbours, scores, source
