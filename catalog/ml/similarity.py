"""Visually similar products: nearest neighbours of image embeddings by cosine."""

import numpy as np

BLOCK = 1024  # query rows scored at once: block × catalogue floats


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Return float32 rows scaled to length 1 (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def vector_bytes(vector: np.ndarray) -> bytes:
    """Return one embedding as little-endian float32 bytes, for storage."""
    return np.asarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(data: bytes) -> np.ndarray:
    """Return the float32 embedding that `vector_bytes` wrote."""
    return np.frombuffer(bytes(data), dtype="<f4").astype(np.float32)


def nearest_neighbours(
    queries: np.ndarray,
    vectors: np.ndarray,
    k: int,
    *,
    query_rows: np.ndarray | None = None,
    block: int = BLOCK,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (n_queries, k) indices into `vectors` and cosines, best first.

    Rows are compared by their dot product, so both should be unit rows.
    `query_rows[i]`, when given, is the row of `vectors` that query `i` is (never
    its own neighbour). Missing entries (fewer than `k` others) are -1 with score 0.
    """
    queries = np.asarray(queries, dtype=np.float32)
    vectors = np.asarray(vectors, dtype=np.float32)
    n_queries, n = len(queries), len(vectors)
    neighbours = np.full((n_queries, k), -1, dtype=np.int64)
    scores = np.zeros((n_queries, k), dtype=np.float32)
    take = min(k, n)
    if take == 0 or n_queries == 0:
        return neighbours, scores
    for start in range(0, n_queries, block):
        stop = min(start + block, n_queries)
        sims = queries[start:stop] @ vectors.T
        if query_rows is not None:
            rows = np.asarray(query_rows[start:stop], dtype=np.int64)
            mine = rows >= 0
            sims[np.flatnonzero(mine), rows[mine]] = -np.inf
        if take < n:
            part = np.argpartition(-sims, take - 1, axis=1)[:, :take]
        else:
            part = np.tile(np.arange(n), (stop - start, 1))
        picked = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-picked, axis=1, kind="stable")
        ranked = np.take_along_axis(part, order, axis=1)
        best = np.take_along_axis(picked, order, axis=1)
        valid = np.isfinite(best)
        neighbours[start:stop, :take] = np.where(valid, ranked, -1)
        scores[start:stop, :take] = np.where(valid, best, 0.0)
    return neighbours, scores
