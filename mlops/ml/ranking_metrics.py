"""Ranking metrics for recommendations, one implementation each (leave-last-out).

Every function takes `ranked`: an (n_users, k) array of item indices, best first, and
`held_out`: an (n_users,) array with each user's one held-out item.
"""

import numpy as np


def hit_rate_at(ranked: np.ndarray, held_out: np.ndarray, k: int) -> float:
    """Return the share of users whose held-out item is in their top k."""
    if len(held_out) == 0:
        return 0.0
    return float(np.mean(np.any(ranked[:, :k] == held_out[:, None], axis=1)))


def ndcg_at(ranked: np.ndarray, held_out: np.ndarray, k: int) -> float:
    """Return mean NDCG@k with one relevant item per user: 1/log2(rank + 2)."""
    if len(held_out) == 0:
        return 0.0
    hits = ranked[:, :k] == held_out[:, None]
    ranks = np.argmax(hits, axis=1)
    gains = np.where(hits.any(axis=1), 1.0 / np.log2(ranks + 2.0), 0.0)
    return float(np.mean(gains))


def recall_at(ranked: np.ndarray, held_out: np.ndarray, k: int) -> float:
    """Return recall@k; with one held-out item per user it equals the hit rate."""
    return hit_rate_at(ranked, held_out, k)


def catalogue_coverage(ranked: np.ndarray, n_items: int, k: int = 10) -> float:
    """Return the share of the catalogue that appears in anyone's top k."""
    if n_items == 0 or ranked.size == 0:
        return 0.0
    return float(len(np.unique(ranked[:, :k])) / n_items)


def ranking_report(ranked: np.ndarray, held_out: np.ndarray, n_items: int) -> dict:
    """Return the recommendation metrics of DESIGN.md for one ranking."""
    return {
        "hr@10": round(hit_rate_at(ranked, held_out, 10), 6),
        "ndcg@10": round(ndcg_at(ranked, held_out, 10), 6),
        "recall@20": round(recall_at(ranked, held_out, 20), 6),
        "coverage": round(catalogue_coverage(ranked, n_items, 10), 6),
    }


def top_k(scores: np.ndarray, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Return the indices of the k best scores per row, best first.

    `exclude` is a boolean mask of the same shape: those items are never ranked.
    """
    negated = np.negative(scores, dtype=np.float64)  # one full-size array, no copy
    if exclude is not None:
        np.copyto(negated, np.inf, where=exclude)
    k = min(k, negated.shape[1])
    part = np.argpartition(negated, k - 1, axis=1)[:, :k]
    order = np.argsort(np.take_along_axis(negated, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)
