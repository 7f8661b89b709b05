"""Neighbourhood baselines: item-kNN (co-occurrence cosine) and EASE (Steck, 2019).

Both are pure NumPy. Co-occurrences are counted sparsely from each customer's (last
`max_history`) distinct items, so that memory grows with the pairs that exist.
"""

import io
import json
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.linalg import get_lapack_funcs

from .protocol import Interactions


def distinct_last(
    group: np.ndarray,
    item: np.ndarray,
    weight: np.ndarray | None,
    max_per_group: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (group, item, weight) once per pair, the last `max_per_group` per group.

    Rows are taken in the given (time) order; a repeated pair keeps its largest weight
    and its last position. The result is sorted by group, oldest first.
    """
    n = len(group)
    weight = np.ones(n, np.float32) if weight is None else weight.astype(np.float32)
    if n == 0:
        return group[:0], item[:0], weight[:0]
    position = np.arange(n)
    order = np.lexsort((position, item, group))
    g, i, w, p = group[order], item[order], weight[order], position[order]
    last = np.r_[(g[1:] != g[:-1]) | (i[1:] != i[:-1]), True]
    starts = np.flatnonzero(np.r_[True, last[:-1]])
    w = np.maximum.reduceat(w, starts)
    g, i, p = g[last], i[last], p[last]
    order = np.lexsort((p, g))
    g, i, w = g[order], i[order], w[order]
    from_end = _rank_from_end(g)
    keep = from_end < max_per_group
    return g[keep], i[keep], w[keep]


def _rank_from_end(sorted_group: np.ndarray) -> np.ndarray:
    """Return each row's position counted from the end of its group (0 = last)."""
    n = len(sorted_group)
    ends = np.r_[np.flatnonzero(sorted_group[1:] != sorted_group[:-1]), n - 1]
    counts = np.diff(np.r_[-1, ends])
    return np.repeat(ends, counts) - np.arange(n)


def pair_sums(
    group: np.ndarray, item: np.ndarray, weight: np.ndarray, n_items: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (i, j, sum of w_i·w_j) over groups for every distinct ordered pair i != j.

    `group` must be sorted and each (group, item) distinct (see `distinct_last`).
    """
    keys, values = [], []
    for d in range(1, _longest_run(group)):
        same = group[:-d] == group[d:]
        a, b = item[:-d][same], item[d:][same]
        w = weight[:-d][same] * weight[d:][same]
        keys += [a * n_items + b, b * n_items + a]
        values += [w, w]
    if not keys:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float32)
    key = np.concatenate(keys).astype(np.int64)
    value = np.concatenate(values)
    order = np.argsort(key, kind="stable")
    key, value = key[order], value[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sums = np.add.reduceat(value, starts).astype(np.float32)
    key = key[starts]
    return key // n_items, key % n_items, sums


def _longest_run(sorted_group: np.ndarray) -> int:
    if len(sorted_group) == 0:
        return 0
    return int(np.bincount(np.unique(sorted_group, return_inverse=True)[1]).max())


def top_per_row(
    row: np.ndarray, col: np.ndarray, value: np.ndarray, n_rows: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return (n_rows, k) columns and values of each row's k largest, -1/0 padded."""
    order = np.lexsort((-value, row))
    row, col, value = row[order], col[order], value[order]
    starts = np.searchsorted(row, np.arange(n_rows))
    rank = np.arange(len(row)) - starts[row]
    keep = rank < k
    columns = np.full((n_rows, k), -1, np.int64)
    values = np.zeros((n_rows, k), np.float32)
    columns[row[keep], rank[keep]] = col[keep]
    values[row[keep], rank[keep]] = value[keep]
    return columns, values


def history_rows(
    history: Interactions, users: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (row in `users`, item, weight) for every history interaction of `users`."""
    rows, index = history.rows_of(users)
    weight = (
        np.ones(len(index), np.float32)
        if history.weight is None
        else history.weight[index].astype(np.float32)
    )
    return rows, history.item[index], weight


def _incidence(history: Interactions, users: np.ndarray) -> np.ndarray:
    """Return a dense (len(users), n_items) matrix of each user's largest weights."""
    rows, items, weight = history_rows(history, users)
    out = np.zeros((len(users), history.n_items), np.float32)
    np.maximum.at(out, (rows, items), weight)
    return out


def sparse_incidence(
    history: Interactions, users: np.ndarray, columns: np.ndarray | None = None
) -> sparse.csr_matrix:
    """Return `_incidence` as a float32 CSR matrix, optionally over some `columns`.

    `columns` maps item index -> column (-1: left out); None keeps every item. Each
    row's columns are sorted and distinct, a repeated item keeping its largest weight.
    """
    rows, items, weight = history_rows(history, users)
    n_columns = history.n_items
    if columns is not None:
        items = columns[items]
        keep = items >= 0
        rows, items, weight = rows[keep], items[keep], weight[keep]
        n_columns = int(columns.max(initial=-1)) + 1
    order = np.lexsort((items, rows))
    rows, items, weight = rows[order], items[order], weight[order]
    first = np.ones(len(rows), bool)
    first[1:] = (rows[1:] != rows[:-1]) | (items[1:] != items[:-1])
    starts = np.flatnonzero(first)
    if len(starts):
        weight = np.maximum.reduceat(weight, starts)
    rows, items = rows[starts], items[starts]
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=len(users)))]
    return sparse.csr_matrix(
        (weight.astype(np.float32), items, indptr), shape=(len(users), n_columns)
    )


def _save(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
    return buffer.getvalue()


@dataclass
class ItemKNN:
    """Score = sum over history items of their cosine co-occurrence with the item.

    Similarity(i, j) = Σ_u x_ui·x_uj / (‖x_i‖·‖x_j‖) over customers' distinct items
    (x = interaction weight, 1 for a purchase); each item keeps its `k` nearest.
    """

    k: int = 100
    max_history: int = 200
    shrink: float = 0.0  # add to the denominator: damps pairs seen only a few times
    neighbours: np.ndarray | None = None  # (n_items, k) item indices, -1 padded
    similarities: np.ndarray | None = None  # (n_items, k) float32
    algorithm = "item-knn"

    def fit(self, data: Interactions) -> "ItemKNN":
        group, item, weight = distinct_last(
            data.user, data.item, data.weight, self.max_history
        )
        norms = np.sqrt(np.bincount(item, weight**2, minlength=data.n_items))
        i, j, sums = pair_sums(group, item, weight, data.n_items)
        cosine = sums / (norms[i] * norms[j] + self.shrink)
        self.neighbours, self.similarities = top_per_row(
            i, j, cosine.astype(np.float32), data.n_items, self.k
        )
        return self

    @property
    def n_items(self) -> int:
        return len(self.neighbours)

    def score(self, history: Interactions, users: np.ndarray) -> np.ndarray:
        rows, items, weight = history_rows(history, users)
        nbr = self.neighbours[items]  # (rows, k)
        value = self.similarities[items] * weight[:, None]
        valid = nbr >= 0
        flat = (rows[:, None] * self.n_items + nbr)[valid]
        scores = np.bincount(
            flat, value[valid], minlength=len(users) * self.n_items
        ).astype(np.float32)
        return scores.reshape(len(users), self.n_items)

    def contributions(self, history_items: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Return (n, r, h) similarity of each of `items` (n, r) to each history item
        (n, h, -1 padded): looked up among the history item's neighbours, else 0."""
        keys, values = self._pairs()
        valid = (history_items[:, None, :] >= 0) & (items[:, :, None] >= 0)
        out = np.zeros(valid.shape, np.float32)
        if len(keys) == 0:
            return out
        wanted = (history_items[:, None, :] * self.n_items + items[:, :, None])[valid]
        order = np.argsort(wanted)  # sorted needles: a faster binary search
        where = np.empty(len(wanted), np.int64)
        where[order] = np.searchsorted(keys, wanted[order])
        where = np.minimum(where, len(keys) - 1)
        out[valid] = np.where(keys[where] == wanted, values[where], np.float32(0.0))
        return out

    def _pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the sorted keys item·n + neighbour of the kNN graph, and their
        similarities (cached while the arrays stay the same)."""
        cached = getattr(self, "_pair_cache", None)
        if (
            cached is not None
            and cached[0] is self.neighbours
            and cached[1] is self.similarities
        ):
            return cached[2], cached[3]
        n = self.n_items
        row = np.repeat(np.arange(n, dtype=np.int64), self.neighbours.shape[1])
        column = self.neighbours.reshape(-1).astype(np.int64)
        value = self.similarities.reshape(-1)
        present = column >= 0
        keys = row[present] * n + column[present]
        order = np.argsort(keys, kind="stable")
        keys, value = keys[order], value[present][order]
        self._pair_cache = (self.neighbours, self.similarities, keys, value)
        return keys, value

    def to_bytes(self, **extra) -> bytes:
        return _save(
            **extra,
            algorithm=self.algorithm,
            config=json.dumps(
                {"k": self.k, "max_history": self.max_history, "shrink": self.shrink}
            ),
            neighbours=self.neighbours,
            similarities=self.similarities,
        )

    @classmethod
    def from_arrays(cls, arrays) -> "ItemKNN":
        return cls(
            **json.loads(str(arrays["config"])),
            neighbours=arrays["neighbours"],
            similarities=arrays["similarities"],
        )


@dataclass
class EASE:
    """Embarrassingly shallow autoencoder: B = I - P·diag(1/diag(P)), P = (XᵀX + λI)⁻¹.

    Only the `max_items` most popular items are modelled; the others score -inf.
    """

    l2: float = 500.0
    max_items: int = 10_000
    max_history: int = 500
    items: np.ndarray | None = None  # modelled item indices (n_items,)
    weights: np.ndarray | None = field(default=None, repr=False)  # B, (m, m)
    n_items: int = 0
    algorithm = "ease"

    def fit(self, data: Interactions) -> "EASE":
        group, item, weight = distinct_last(
            data.user, data.item, data.weight, self.max_history
        )
        popularity = np.bincount(item, minlength=data.n_items)
        ranked = np.argsort(-popularity, kind="stable")[: self.max_items]
        self.items = np.sort(ranked[popularity[ranked] > 0])
        self.n_items = data.n_items
        m = len(self.items)
        local = np.full(data.n_items, -1, np.int64)
        local[self.items] = np.arange(m)
        keep = local[item] >= 0
        group, item, weight = group[keep], local[item[keep]], weight[keep]
        dtype = np.float64 if m <= 4000 else np.float32
        gram = np.zeros((m, m), dtype)
        i, j, sums = pair_sums(group, item, weight, m)
        gram[i, j] = sums
        gram[np.diag_indices(m)] = np.bincount(item, weight.astype(dtype) ** 2, m)
        self.weights = closed_form(gram, self.l2).astype(np.float32)
        return self

    def score(self, history: Interactions, users: np.ndarray) -> np.ndarray:
        """Return x·B as float32, -inf for the items that are not modelled.

        x is sparse (a customer has tens of items, B is items × items): the product
        adds up the rows of B of each customer's items, in float32.
        """
        x = sparse_incidence(history, users, self._columns())
        weighted = np.asarray(x @ self.weights, dtype=np.float32)
        if len(self.items) == self.n_items:  # every item modelled (items are sorted)
            return weighted
        scores = np.full((len(users), self.n_items), -np.inf, np.float32)
        scores[:, self.items] = weighted
        return scores

    def _columns(self) -> np.ndarray:
        """Return item index -> row of B, -1 for the items that are not modelled."""
        local = np.full(self.n_items, -1, np.int64)
        local[self.items] = np.arange(len(self.items))
        return local

    def contributions(self, history_items: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Return (n, r, h) B[history item, item] (0 for padding or unmodelled items)."""
        local = np.full(self.n_items + 1, -1, np.int64)
        local[self.items] = np.arange(len(self.items))
        h, r = local[history_items], local[items]  # -1 indexes the padding slot
        out = self.weights[np.maximum(h, 0)[:, None, :], np.maximum(r, 0)[:, :, None]]
        return np.where((h[:, None, :] >= 0) & (r[:, :, None] >= 0), out, 0.0)

    def config(self) -> dict:
        """The settings an artifact keeps beside the weights."""
        return {
            "l2": self.l2,
            "max_items": self.max_items,
            "max_history": self.max_history,
            "n_items": self.n_items,
        }

    def to_bytes(self, **extra) -> bytes:
        return _save(
            **extra,
            algorithm=self.algorithm,
            config=json.dumps(self.config()),
            items=self.items,
            weights=self.weights,
        )

    @classmethod
    def from_arrays(cls, arrays) -> "EASE":
        return cls(
            **json.loads(str(arrays["config"])),
            items=arrays["items"],
            weights=arrays["weights"],
        )


def closed_form(gram: np.ndarray, l2: float) -> np.ndarray:
    """Return EASE's B for the Gram matrix XᵀX: zero diagonal, P = (G + λI)⁻¹."""
    g = gram.copy()
    g[np.diag_indices(len(g))] += l2
    # G + λI is symmetric positive definite: invert it through its Cholesky factor
    # (about half the work of a general inverse), then mirror the upper triangle.
    potrf, potri = get_lapack_funcs(("potrf", "potri"), (g,))
    factor, info = potrf(g, lower=False, overwrite_a=True, clean=False)
    if info == 0:
        p, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE's Gram matrix is not invertible ({info})")
    p = np.triu(p) + np.triu(p, 1).T
    b = p / -np.diag(p)[None, :]
    b[np.diag_indices(len(b))] = 0.0
    return b


@dataclass
class RecentEASE(EASE):
    """EASE whose input weighs what a customer is into now: each history item's
    weight halves every `half_life_days` before the customer's latest interaction.

    The item-item weights are EASE's; only the scoring input differs, so a fitted
    EASE's weights serve every half-life (`with_half_life`).
    """

    half_life_days: float = 1.0
    algorithm = "ease-recent"

    def __post_init__(self):
        self._weighted = (None, None)  # (history, its recency-weighted copy)

    def with_half_life(self, half_life_days: float) -> "RecentEASE":
        return RecentEASE(
            l2=self.l2,
            max_items=self.max_items,
            max_history=self.max_history,
            items=self.items,
            weights=self.weights,
            n_items=self.n_items,
            half_life_days=half_life_days,
        )

    def score(self, history: Interactions, users: np.ndarray) -> np.ndarray:
        if self._weighted[0] is not history:  # once per history, not per block
            self._weighted = (history, recency_weighted(history, self.half_life_days))
        return super().score(self._weighted[1], users)

    def config(self) -> dict:
        return {**super().config(), "half_life_days": self.half_life_days}


def recency_weighted(history: Interactions, half_life_days: float) -> Interactions:
    """Return `history` with each weight halved every `half_life_days` before its
    customer's latest interaction."""
    if len(history.user) == 0:
        return history
    latest = np.full(history.n_users, -np.inf)
    np.maximum.at(latest, history.user, history.day)
    age = latest[history.user] - history.day
    base = np.ones(len(age)) if history.weight is None else history.weight
    weight = (base * 0.5 ** (age / half_life_days)).astype(np.float32)
    return Interactions(
        history.user,
        history.item,
        history.day,
        history.n_users,
        history.n_items,
        weight,
    )
