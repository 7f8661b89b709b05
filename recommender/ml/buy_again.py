"""Buy again: what a customer buys regularly, ranked by how often and how due it is.

Per customer and item: a decayed purchase count and the days since the last purchase;
per category: the usual repurchase cycle (median days between two purchases of the
same item by the same customer). An item scores by its count, raised when it is due
(days since ≈ cycle); items never bought score by overall popularity, scaled by
`new_weight`, so that lists are filled where a history is short.

`repeat_shares` measures, per category, how often customers re-buy: where that is the
norm, serving lets bought products through.
"""

import io
import json
from dataclasses import dataclass, field

import numpy as np

from .popularity import decayed_counts
from .protocol import Interactions

DEFAULT_CYCLE_DAYS = 14.0  # where no category shows a repeat


@dataclass
class BuyAgain:
    half_life_days: float = 90.0
    new_weight: float = 0.1
    item_category: np.ndarray | None = field(default=None, repr=False)
    n_categories: int = 0
    cycle: np.ndarray | None = field(default=None, repr=False)  # days, per category
    popularity: np.ndarray | None = field(default=None, repr=False)  # max 1
    n_items: int = 0
    algorithm = "buy-again"

    def fit(self, data: Interactions) -> "BuyAgain":
        self.n_items = data.n_items
        categories = self._categories(data.n_items)
        self.cycle = category_cycles(data, categories, self.n_categories)
        counts = decayed_counts(data, self.half_life_days)
        self.popularity = (counts / max(float(counts.max(initial=0)), 1e-12)).astype(
            np.float32
        )
        return self

    def _categories(self, n_items: int) -> np.ndarray:
        if self.item_category is None or self.n_categories == 0:
            self.n_categories = 1
            return np.zeros(n_items, np.int64)
        return np.asarray(self.item_category, np.int64)

    def score(self, history: Interactions, users: np.ndarray) -> np.ndarray:
        scores = np.broadcast_to(
            self.new_weight * self.popularity, (len(users), self.n_items)
        ).copy()
        position, row = history.rows_of(users)
        if len(row) == 0:
            return scores
        now = float(history.day.max())
        item, day = history.item[row], history.day[row]
        weight = (
            np.ones(len(row))
            if history.weight is None
            else history.weight[row].astype(np.float64)
        )
        decay = 0.5 ** ((now - day) / self.half_life_days)
        key = position * self.n_items + item
        keys, inverse = np.unique(key, return_inverse=True)
        count = np.bincount(inverse, weight * decay)
        last = np.full(len(keys), -np.inf)
        np.maximum.at(last, inverse, day)
        user, item = keys // self.n_items, keys % self.n_items
        cycle = self.cycle[self._categories(self.n_items)[item]]
        due = np.exp(-np.abs(np.log((now - last + 1.0) / (cycle + 1.0))))
        repeat = count / (1.0 + count) * (0.5 + 0.5 * due)
        scores[user, item] += repeat
        return scores

    def to_bytes(self, **extra) -> bytes:
        buffer = io.BytesIO()
        config = {
            "half_life_days": self.half_life_days,
            "new_weight": self.new_weight,
            "n_categories": self.n_categories,
            "n_items": self.n_items,
        }
        np.savez(
            buffer,
            **{k: np.asarray(v) for k, v in extra.items()},
            algorithm=np.asarray(self.algorithm),
            config=np.asarray(json.dumps(config)),
            buy_again_cycle=self.cycle,
            buy_again_popularity=self.popularity,
            buy_again_category=(
                np.zeros(self.n_items, np.int64)
                if self.item_category is None
                else np.asarray(self.item_category, np.int64)
            ),
        )
        return buffer.getvalue()

    @classmethod
    def from_arrays(cls, arrays) -> "BuyAgain":
        model = cls(**json.loads(str(arrays["config"])))
        model.cycle = arrays["buy_again_cycle"]
        model.popularity = arrays["buy_again_popularity"]
        model.item_category = arrays["buy_again_category"]
        return model


def _repeat_rows(data: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (item, gap in days since the same customer's previous purchase of
    it, repeat?) per row: rows sorted by customer, item and time."""
    order = np.lexsort((data.day, data.item, data.user))
    user, item, day = data.user[order], data.item[order], data.day[order]
    same = np.r_[False, (user[1:] == user[:-1]) & (item[1:] == item[:-1])]
    gap = np.r_[0.0, np.diff(day)]
    return item, gap, same


def category_cycles(
    data: Interactions, item_category: np.ndarray, n_categories: int
) -> np.ndarray:
    """Return the median days between repeat purchases (a day or more apart) per
    category; categories without repeats get the overall median."""
    item, gap, repeat = _repeat_rows(data)
    repeat &= gap >= 1.0  # the same item twice in a day is one purchase
    overall = float(np.median(gap[repeat])) if repeat.any() else DEFAULT_CYCLE_DAYS
    cycle = np.full(n_categories, overall)
    category = item_category[item[repeat]]
    for c in np.unique(category):
        cycle[c] = float(np.median(gap[repeat][category == c]))
    return cycle


def repeat_shares(
    data: Interactions, item_category: np.ndarray, n_categories: int
) -> tuple[float, np.ndarray, np.ndarray]:
    """Return (overall share, share per category, lines per category) of purchase
    lines that re-buy an item the customer bought on an earlier day."""
    item, gap, repeat = _repeat_rows(data)
    day = np.floor(data.day[np.lexsort((data.day, data.item, data.user))])
    repeat &= np.r_[False, day[1:] != day[:-1]]  # bought again on a later day
    category = item_category[item]
    lines = np.bincount(category, minlength=n_categories)
    repeats = np.bincount(category[repeat], minlength=n_categories)
    share = repeats / np.maximum(lines, 1)
    overall = float(repeat.mean()) if len(repeat) else 0.0
    return overall, share, lines
