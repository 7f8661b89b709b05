"""How a batch inference is cut into chunks: by the workers there are and the
catalogue each key is scored against, not a fixed size."""

import math


def inference_chunk_size(
    keys: int,
    *,
    workers: int,
    catalogue: int,
    chunks_per_worker: int,
    max_cells: int,
    smallest: int,
) -> int:
    """Return the keys per chunk for a batch of `keys`.

    Every worker gets about `chunks_per_worker` chunks, so that a slow or lost worker
    holds up only a small share and the last chunks finish close together. A chunk
    scores its keys against the whole catalogue at once, so its score matrix
    (keys × `catalogue` products) is kept within `max_cells` numbers; and no chunk is
    cut below `smallest` keys, where the per-task overhead would dominate.
    """
    for name, value in (
        ("workers", workers),
        ("chunks_per_worker", chunks_per_worker),
        ("max_cells", max_cells),
        ("smallest", smallest),
    ):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, not {value}")
    if keys <= 0:
        return smallest
    even_share = math.ceil(keys / (workers * chunks_per_worker))
    memory_cap = max(smallest, max_cells // max(1, catalogue))
    return min(max(even_share, smallest), memory_cap)
