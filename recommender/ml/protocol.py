"""Leave-last-out evaluation of "for you" rankings, the same for every model.

Each customer with at least `min_interactions` purchases keeps their last one for test
and the one before for validation; everything earlier is training history. Ranking is
over the full catalogue, excluding what the customer already has in their history unless
the shop allows repeat purchases.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mlops.ml.ranking_metrics import ranking_report, top_k


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
class Split:
    train: Interactions  # history before validation
    validation_users: np.ndarray
    validation_items: np.ndarray
    train_plus_validation: Interactions  # history before test
    test_users: np.ndarray
    test_items: np.ndarray


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
        validation_users=data.user[validation_rows],
        validation_items=data.item[validation_rows],
        train_plus_validation=data.take(before_test),
        test_users=data.user[test_rows],
        test_items=data.item[test_rows],
    )


Scorer = Callable[[Interactions, np.ndarray], np.ndarray]


def evaluate(
    score: Scorer,
    history: Interactions,
    users: np.ndarray,
    held_out: np.ndarray,
    *,
    repeat_purchase: bool = False,
    k: int = 20,
    block: int = 256,  # small blocks: reused memory, faster than big ones
) -> dict:
    """Rank the catalogue for `users` given `history` and measure against `held_out`."""
    ranked = np.zeros((len(users), min(k, history.n_items)), dtype=np.int64)
    seen = SeenItems(history) if not repeat_purchase else None
    for start in range(0, len(users), block):
        chunk = users[start : start + block]
        scores = score(history, chunk)
        exclude = seen.mask(chunk) if seen is not None else None
        ranked[start : start + len(chunk)] = fast_top_k(scores, k, exclude)
    return ranking_report(ranked, held_out, history.n_items)


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
