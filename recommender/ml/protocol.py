"""Evaluation of "for you" rankings, the same for every model.

A customer's held-out unit is a basket (`HeldOut`: every item of it is a target); the
history is everything strictly before it. Ranking is over the full catalogue,
excluding what the customer already has in their history unless repeats are allowed
(then targets already bought count too). `leave_last_out` is the single-item
variant kept for the plain benchmarks.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mlops.ml.ranking_metrics import catalogue_coverage, top_k


@dataclass(frozen=True)
class Interactions:
    """Purchases in time order: parallel arrays of user index, item index and day.

    `weight` (optional) is each interaction's weight: 1 for a purchase, less for a view
    or a cart add; None means every interaction weighs 1.
    """

    user: np.ndarray
    item: np.ndarray
    day: np.ndarray
    n_users: int
    n_items: int
    weight: np.ndarray | None = None

    @cached_property
    def _by_user(self) -> tuple[np.ndarray, np.ndarray]:
        """(stable order of the rows by user, the users in that order), sorted once."""
        order = np.argsort(self.user, kind="stable")
        return order, self.user[order]

    def rows_of(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (position in `users`, row of these arrays) of every interaction of
        `users` (distinct): grouped by user in `users`' order, each user's rows in
        stored order. The sort by user is made once per history, not per call."""
        order, user = self._by_user
        starts = np.searchsorted(user, users, side="left")
        lengths = np.searchsorted(user, users, side="right") - starts
        position = np.repeat(np.arange(len(users)), lengths)
        first = np.cumsum(lengths) - lengths  # where each user's run starts in `row`
        row = order[np.arange(int(lengths.sum())) + np.repeat(starts - first, lengths)]
        return position, row

    def take(self, mask: np.ndarray) -> "Interactions":
        return Interactions(
            self.user[mask],
            self.item[mask],
            self.day[mask],
            self.n_users,
            self.n_items,
            None if self.weight is None else self.weight[mask],
        )


@dataclass(frozen=True)
class HeldOut:
    """Held-out baskets: distinct `users` and each one's target items.

    The targets of `users[i]` are `items[indptr[i]:indptr[i + 1]]` (distinct).
    """

    users: np.ndarray
    indptr: np.ndarray
    items: np.ndarray

    @classmethod
    def from_rows(cls, users: np.ndarray, items: np.ndarray) -> "HeldOut":
        """Group (user, item) rows into baskets; repeated items count once."""
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        pairs = np.unique(np.stack([users, items]), axis=1) if len(users) else None
        if pairs is None:
            return cls(np.zeros(0, np.int64), np.zeros(1, np.int64), users[:0])
        distinct, counts = np.unique(pairs[0], return_counts=True)
        return cls(distinct, np.r_[0, np.cumsum(counts)], pairs[1])

    def __len__(self) -> int:
        return len(self.users)

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.indptr)

    @property
    def owner(self) -> np.ndarray:
        """Position in `users` of each target."""
        return np.repeat(np.arange(len(self.users)), self.sizes)

    def subset(self, positions: np.ndarray) -> "HeldOut":
        positions = np.asarray(positions, np.int64)
        keep = np.isin(self.owner, positions)
        return HeldOut(
            self.users[positions],
            np.r_[0, np.cumsum(self.sizes[positions])],
            self.items[keep],
        )

    def drop_targets(self, mask: np.ndarray) -> "HeldOut":
        """Drop the targets where `mask` is True, and the baskets left empty."""
        keep = ~np.asarray(mask, bool)
        sizes = np.bincount(self.owner[keep], minlength=len(self.users))
        kept = sizes > 0
        return HeldOut(
            self.users[kept], np.r_[0, np.cumsum(sizes[kept])], self.items[keep]
        )

    def not_in(self, history: "Interactions") -> "HeldOut":
        """The targets a customer had not bought before (all-new baskets)."""
        seen = np.zeros(0, np.int64)
        position, row = history.rows_of(self.users)
        if len(row):
            seen = np.unique(position * history.n_items + history.item[row])
        key = self.owner * history.n_items + self.items
        return self.drop_targets(np.isin(key, seen))


@dataclass(frozen=True)
class Split:
    """Validation and test baskets, each with the history strictly before it.

    `cold_start` holds the test baskets of customers with no history before the cut:
    measured against the cold-start policy, never with the personalised models.
    `summary` says how the cut was made and how much history it removed.
    """

    train: Interactions  # history before validation
    validation: HeldOut
    train_plus_validation: Interactions  # history before test
    test: HeldOut
    cold_start: HeldOut | None = None
    summary: dict | None = None

    @property
    def test_users(self) -> np.ndarray:
        return self.test.users

    @property
    def validation_users(self) -> np.ndarray:
        return self.validation.users


def leave_last_out(data: Interactions, min_interactions: int = 3) -> Split:
    """Split each eligible user's last purchase for test and the one before for validation."""
    order = np.lexsort((np.arange(len(data.user)), data.day, data.user))
    user = data.user[order]
    counts = np.bincount(user, minlength=data.n_users)
    last = np.r_[user[1:] != user[:-1], True]  # last row of each user
    second = np.r_[last[1:], False] & ~last
    eligible = counts[user] >= min_interactions
    test_rows = order[last & eligible]
    validation_rows = order[second & eligible]
    before_test = np.ones(len(data.user), bool)
    before_test[test_rows] = False
    before_validation = before_test.copy()
    before_validation[validation_rows] = False
    return Split(
        train=data.take(before_validation),
        validation=HeldOut.from_rows(
            data.user[validation_rows], data.item[validation_rows]
        ),
        train_plus_validation=data.take(before_test),
        test=HeldOut.from_rows(data.user[test_rows], data.item[test_rows]),
    )


Scorer = Callable[[Interactions, np.ndarray], np.ndarray]


def evaluate(
    score: Scorer,
    history: Interactions,
    held_out: HeldOut,
    *,
    repeat_purchase: bool = False,
    k: int = 20,
    block: int = 256,  # small blocks: reused memory, faster than big ones
) -> dict:
    """Rank the catalogue for the held-out customers given `history`; measure every
    target of their baskets (`basket_report`). Without repeats, what a customer has
    in their history is never ranked and is no target either."""
    if not repeat_purchase:
        held_out = held_out.not_in(history)
    users = held_out.users
    ranked = np.zeros((len(users), min(k, history.n_items)), dtype=np.int64)
    seen = SeenItems(history) if not repeat_purchase else None
    for start in range(0, len(users), block):
        chunk = users[start : start + block]
        scores = score(history, chunk)
        exclude = seen.mask(chunk) if seen is not None else None
        ranked[start : start + len(chunk)] = fast_top_k(scores, k, exclude)
    return basket_report(ranked, held_out, history.n_items)


def basket_report(ranked: np.ndarray, held_out: HeldOut, n_items: int) -> dict:
    """Return hr@10, ndcg@10, recall@20 and coverage over every basket target.

    ndcg@10 divides by the best possible order of min(targets, 10) hits; recall@20
    is hits in the top 20 over min(targets, 20), so a basket of 30 can reach 1. With
    one target per basket these are the single-item metrics.
    """
    n = len(held_out)
    if n == 0:
        return {"hr@10": 0.0, "ndcg@10": 0.0, "recall@20": 0.0, "coverage": 0.0}
    width = max(n_items, 1)
    targets = np.sort(held_out.owner * width + held_out.items)
    keys = np.arange(n)[:, None] * width + ranked
    where = np.minimum(np.searchsorted(targets, keys), len(targets) - 1)
    hits = targets[where] == keys
    sizes = held_out.sizes
    discount = 1.0 / np.log2(np.arange(2, 12))
    dcg = (hits[:, :10] * discount[: min(10, hits.shape[1])]).sum(axis=1)
    ideal = np.r_[0.0, np.cumsum(discount)][np.minimum(sizes, 10)]
    recall = hits[:, :20].sum(axis=1) / np.minimum(sizes, 20)
    return {
        "hr@10": round(float(hits[:, :10].any(axis=1).mean()), 6),
        "ndcg@10": round(float(np.mean(dcg / ideal)), 6),
        "recall@20": round(float(recall.mean()), 6),
        "coverage": round(catalogue_coverage(ranked, n_items, 10), 6),
    }


def fast_top_k(
    scores: np.ndarray, k: int, exclude: np.ndarray | None = None
) -> np.ndarray:
    """Return `top_k(scores, k, exclude)` exactly, ties included, in about half the time.

    The k largest of a row are at or above the smallest of k maxima (of k slices of
    the row), so only the few items there are sorted. A row whose top k + 1 hold
    equal or infinite values, or with too few items left once the excluded ones are
    dropped, goes through `top_k` itself, so that ties come out in the same order.
    """
    n_rows, n = scores.shape
    k = min(k, n)
    if k == 0 or n_rows == 0:
        return top_k(scores, k, exclude)
    slices = np.arange(0, n, -(-n // k))
    bound = np.maximum.reduceat(scores, slices, axis=1).min(axis=1)
    row, column = np.nonzero(scores >= bound[:, None])
    if exclude is not None:  # the excluded are few: drop them from the candidates
        kept = ~exclude[row, column]
        row, column = row[kept], column[kept]
    value = scores[row, column]
    order = np.lexsort((-value, row))  # each row's candidates, largest first
    row, column, value = row[order], column[order], value[order]
    first = np.searchsorted(row, np.arange(n_rows))
    rank = np.arange(len(row)) - first[row]
    # Every item not a candidate is below the bound, so below the k-th candidate.
    top = np.full((n_rows, k + 1), -np.inf)
    top[:, :k] = np.nan  # NaN: fewer than k candidates
    head = rank <= k
    top[row[head], rank[head]] = value[head]
    plain = (
        np.isfinite(top[:, :k]).all(axis=1)
        & (top[:, 1:k] != top[:, : k - 1]).all(axis=1)
        & (top[:, k - 1] != top[:, k])
    )
    out = np.empty((n_rows, k), np.int64)
    head = rank < k
    out[row[head], rank[head]] = column[head]
    tied = np.flatnonzero(~plain)
    if len(tied):
        out[tied] = top_k(scores[tied], k, None if exclude is None else exclude[tied])
    return out


class SeenItems:
    """Which items each user already has, as a boolean mask for a block of users."""

    def __init__(self, history: Interactions):
        self.history = history

    def mask(self, users: np.ndarray) -> np.ndarray:
        out = np.zeros((len(users), self.history.n_items), dtype=bool)
        position, row = self.history.rows_of(users)
        out[position, self.history.item[row]] = True
        return out


def index_of(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Return the index of each value in `table` (unique values), or -1 if absent."""
    values = np.asarray(values, dtype=np.int64)
    if len(table) == 0:
        return np.full(len(values), -1, dtype=np.int64)
    order = np.argsort(table, kind="stable")
    ordered = np.asarray(table, dtype=np.int64)[order]
    where = np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)
    return np.where(ordered[where] == values, order[where], -1).astype(np.int64)
