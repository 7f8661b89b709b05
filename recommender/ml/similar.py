""" "Similar products": cosine neighbours of item embeddings, with a cold-start fallback."""

import numpy as np

from mlops.ml.ranking_metrics import top_k


def similar_items(
    embeddings: np.ndarray,
    k: int,
    item_category: np.ndarray | None = None,
    price_band: np.ndarray | None = None,
    *,
    known: np.ndarray | None = None,
    popularity: np.ndarray | None = None,
    block: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (n_items, k) neighbour indices and scores, -1 / 0 padded.

    A known item (default: a non-zero embedding) gets its `k` nearest known items by
    cosine, never itself. An unknown (cold) item gets the most popular items of its
    category, those in its price band first, with popularity shares as scores.
    """
    n = len(embeddings)
    norms = np.linalg.norm(embeddings, axis=1)
    known = norms > 0 if known is None else np.asarray(known, bool)
    popularity = np.zeros(n) if popularity is None else np.asarray(popularity, float)
    unit = embeddings / np.where(norms > 0, norms, 1.0)[:, None]
    k = min(k, max(n - 1, 0))
    neighbours = np.full((n, k), -1, np.int64)
    scores = np.zeros((n, k), np.float32)
    if k == 0:
        return neighbours, scores
    warm = np.flatnonzero(known)
    for start in range(0, len(warm), block):
        rows = warm[start : start + block]
        sims = unit[rows] @ unit.T
        exclude = ~known[None, :] | (np.arange(n)[None, :] == rows[:, None])
        ranked = top_k(sims, k, exclude)
        picked = np.take_along_axis(sims, ranked, axis=1)
        valid = ~np.take_along_axis(exclude, ranked, axis=1)
        neighbours[rows] = np.where(valid, ranked, -1)
        scores[rows] = np.where(valid, picked, 0.0)
    cold = np.flatnonzero(~known)
    if len(cold) and item_category is not None:
        share = popularity / popularity.sum() if popularity.sum() > 0 else popularity
        for start in range(0, len(cold), block):
            rows = cold[start : start + block]
            same = item_category[rows][:, None] == item_category[None, :]
            rank = np.where(same, 1.0 + share[None, :], 0.0)
            if price_band is not None:
                rank += same & (price_band[rows][:, None] == price_band[None, :])
            exclude = ~same | (np.arange(n)[None, :] == rows[:, None])
            ranked = top_k(rank, k, exclude)
            valid = ~np.take_along_axis(exclude, ranked, axis=1)
            neighbours[rows] = np.where(valid, ranked, -1)
            scores[rows] = np.where(valid, share[ranked], 0.0)
    return neighbours, scores
