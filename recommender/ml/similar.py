""" "Similar products": cosine neighbours of item embeddings, with a cold-start fallback."""

import numpy as np

from mlops.ml.ranking_metrics import top_k

PRICE_BAND_WEIGHT = 0.1  # cosine a same-price-band candidate gains at cold start


def similar_items(
    embeddings: np.ndarray,
    k: int,
    item_category: np.ndarray | None = None,
    price_band: np.ndarray | None = None,
    *,
    known: np.ndarray | None = None,
    popularity: np.ndarray | None = None,
    image_embeddings: np.ndarray | None = None,
    block: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (n_items, k) neighbour indices and scores, -1 / 0 padded.

    A known item (default: a non-zero embedding) gets its `k` nearest known items by
    cosine, never itself. An unknown (cold) item gets items of its category: with a
    picture (a non-zero row of `image_embeddings`), those whose pictures look most
    alike, by image cosine plus `PRICE_BAND_WEIGHT` in its price band, scored by
    the cosine; without one, the most popular, those in its price band first, with
    popularity shares as scores.
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
        pictures = _unit(image_embeddings, n)
        has_picture = np.linalg.norm(pictures, axis=1) > 0
        for start in range(0, len(cold), block):
            rows = cold[start : start + block]
            same = item_category[rows][:, None] == item_category[None, :]
            same_band = (
                same & (price_band[rows][:, None] == price_band[None, :])
                if price_band is not None
                else np.zeros_like(same)
            )
            rank = np.where(same, 1.0 + share[None, :], 0.0) + same_band
            looks = pictures[rows] @ pictures.T
            by_picture = has_picture[rows]
            # Looks first (cosine ≥ -1, so +2 keeps every same-category item above
            # the rest), then price band; popularity only breaks ties.
            rank[by_picture] = np.where(
                same[by_picture],
                2.0
                + looks[by_picture]
                + PRICE_BAND_WEIGHT * same_band[by_picture]
                + 1e-3 * share[None, :],
                0.0,
            )
            exclude = ~same | (np.arange(n)[None, :] == rows[:, None])
            ranked = top_k(rank, k, exclude)
            valid = ~np.take_along_axis(exclude, ranked, axis=1)
            score = np.where(
                by_picture[:, None],
                np.take_along_axis(looks, ranked, axis=1),
                share[ranked],
            )
            neighbours[rows] = np.where(valid, ranked, -1)
            scores[rows] = np.where(valid, score, 0.0)
    return neighbours, scores


def _unit(vectors: np.ndarray | None, n: int) -> np.ndarray:
    """Return [n, d] unit rows of `vectors` (zero rows stay zero; [n, 1] if None)."""
    if vectors is None or np.asarray(vectors).size == 0:
        return np.zeros((n, 1), np.float32)
    vectors = np.asarray(vectors, np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)
