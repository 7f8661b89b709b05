"""Behaviour clusters: k-means over customer vectors, k chosen on held-out data.

A customer's vector is their learned code (see `customer_encoder`: what they buy and
browse) scaled to unit length, and their price position (weighted by `PRICE_WEIGHT`):
the mean percentile of what they paid within each product's category (0 cheapest, 1
dearest). Value and recency are the RFM segments' business, not the clusters'.
k-means (k-means++ start, Lloyd iterations) is fitted for each candidate k on most
customers, and the k with the best silhouette of the held-out rest, assigned to the
fitted centroids, wins. Each cluster is named after its members' top categories and
price band, e.g. "Garden & Kitchen, mid-price".
"""

import numpy as np

PRICE_WEIGHT = 0.5
PRICE_BANDS = ("budget", "mid-price", "premium")
DEFAULT_KS = tuple(range(2, 13))
EVEN_THIRDS = (1 / 3, 2 / 3)


def customer_vectors(codes: np.ndarray, price_position: np.ndarray) -> np.ndarray:
    """Return one row per customer: learned code (unit length), price position
    (weighted by `PRICE_WEIGHT`). Customers without history have a zero code."""
    codes = np.asarray(codes, dtype=np.float64)
    norms = np.linalg.norm(codes, axis=1, keepdims=True)
    codes = np.divide(codes, norms, out=np.zeros_like(codes), where=norms > 0)
    position = np.asarray(price_position, dtype=np.float64) * PRICE_WEIGHT
    return np.column_stack([codes, position])


def price_band_edges(position: np.ndarray) -> np.ndarray:
    """Return the tertiles of customers' price positions: a third in each band."""
    if len(position) == 0:
        return np.asarray(EVEN_THIRDS)
    return np.percentile(np.asarray(position, dtype=np.float64), [100 / 3, 200 / 3])


def price_band(position: np.ndarray, edges=EVEN_THIRDS) -> np.ndarray:
    """Return "budget", "mid-price" or "premium" for price positions, split at
    `edges` (the tertiles of the customers' positions, see `price_band_edges`)."""
    index = np.digitize(np.asarray(position, dtype=np.float64), np.asarray(edges))
    return np.asarray(PRICE_BANDS, dtype=object)[index]


def _squared_distances(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    d = (x**2).sum(1)[:, None] - 2 * x @ centroids.T + (centroids**2).sum(1)[None]
    return np.maximum(d, 0.0)


def assign(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Return the index of each row's nearest centroid."""
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    return _squared_distances(x, centroids).argmin(axis=1)


def kmeans(
    x: np.ndarray, k: int, *, seed: int = 0, iterations: int = 100
) -> np.ndarray:
    """Return k centroids of `x` (k-means++ start, Lloyd iterations)."""
    rng = np.random.default_rng(seed)
    k = min(k, len(x))
    centroids = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = _squared_distances(x, np.asarray(centroids)).min(axis=1)
        total = d.sum()
        pick = rng.choice(len(x), p=d / total) if total > 0 else rng.integers(len(x))
        centroids.append(x[pick])
    centroids = np.asarray(centroids, dtype=np.float64)
    for _ in range(iterations):
        labels = assign(x, centroids)
        counts = np.bincount(labels, minlength=k)
        sums = np.zeros_like(centroids)
        np.add.at(sums, labels, x)
        updated = np.where(
            counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centroids
        )
        if np.allclose(updated, centroids):
            break
        centroids = updated
    return centroids


def silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Return the mean silhouette of `x` under `labels` (0 for one cluster)."""
    groups = np.unique(labels)
    if len(groups) < 2:
        return 0.0
    d = np.sqrt(_squared_distances(x, x))
    mean_to = np.stack([d[:, labels == g].mean(axis=1) for g in groups], axis=1)
    own = np.searchsorted(groups, labels)
    sizes = np.bincount(own, minlength=len(groups))
    # a point's own-cluster mean leaves itself out
    a = mean_to[np.arange(len(x)), own] * sizes[own] / np.maximum(sizes[own] - 1, 1)
    mean_to[np.arange(len(x)), own] = np.inf
    b = mean_to.min(axis=1)
    s = np.where(sizes[own] > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def choose_k(
    x: np.ndarray,
    *,
    ks=DEFAULT_KS,
    seed: int = 0,
    held_out_share: float = 0.25,
    sample: int = 2000,
) -> tuple[int, np.ndarray, dict[int, float]]:
    """Fit k-means for each k on most rows; return the k whose held-out silhouette
    is best, its centroids refitted on all rows, and the silhouette of each k."""
    rng = np.random.default_rng(seed)
    held = rng.random(len(x)) < held_out_share
    fit_rows, test_rows = x[~held], x[held]
    if len(test_rows) > sample:
        test_rows = test_rows[rng.choice(len(test_rows), sample, replace=False)]
    scores: dict[int, float] = {}
    for k in ks:
        if k >= len(fit_rows) or k >= len(test_rows):
            continue
        centroids = kmeans(fit_rows, k, seed=seed)
        scores[k] = round(silhouette(test_rows, assign(test_rows, centroids)), 6)
    best = max(scores, key=lambda k: (scores[k], -k)) if scores else 1
    return best, kmeans(x, best, seed=seed), scores


def describe_clusters(
    labels: np.ndarray,
    k: int,
    category_shares: np.ndarray,
    price_position: np.ndarray,
    group_names: list[str],
    *,
    band_edges=EVEN_THIRDS,
    min_share: float = 0.2,
) -> list[str]:
    """Name each of `k` clusters by its members' top categories (up to two, by mean
    share of purchases) and the price band of their mean price position."""
    n_groups = len(group_names)
    names = []
    for cluster in range(k):
        members = labels == cluster
        if not members.any():
            names.append("Empty")
            continue
        shares = category_shares[members].mean(axis=0)
        order = np.argsort(-shares, kind="stable")
        top = [group_names[i] for i in order[:2] if shares[i] >= min_share]
        if not top and n_groups:
            top = [group_names[order[0]]]
        position = np.array([price_position[members].mean()])
        band = price_band(position, band_edges)[0]
        names.append(f"{' & '.join(top) or 'No purchases'}, {band}")
    return names
