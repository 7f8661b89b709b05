""" "Because you bought X": which history item contributed most to a recommendation."""

from collections.abc import Callable

import numpy as np

Contributions = Callable[[np.ndarray, np.ndarray], np.ndarray]


def reason_items(
    contributions: Contributions | np.ndarray,
    history: np.ndarray,
    recommended: np.ndarray,
) -> np.ndarray:
    """Return (n_users, r) the history item that contributed most to each recommendation.

    `history` is (n_users, h) item indices, -1 padded; `recommended` is (n_users, r).
    `contributions` is either a function (history, recommended) -> (n_users, r, h)
    contributions (ItemKNN.contributions, EASE.contributions) or an (n_items, d)
    array of item vectors, whose cosine similarity is the contribution (SASRec).
    The answer is -1 where no history item contributes positively.
    """
    if callable(contributions):
        value = np.asarray(contributions(history, recommended), np.float64)
    else:
        vectors = np.asarray(contributions, np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit = np.vstack(
            [vectors / np.where(norms > 0, norms, 1.0), np.zeros_like(vectors[:1])]
        )  # the last row answers the -1 padding
        value = np.einsum("nrd,nhd->nrh", unit[recommended], unit[history])
    valid = (history >= 0)[:, None, :] & (
        history[:, None, :] != recommended[:, :, None]
    )
    value = np.where(valid, value, -np.inf)
    best = np.argmax(value, axis=2)
    best_value = np.take_along_axis(value, best[..., None], axis=2)[..., 0]
    picked = np.take_along_axis(history, best, axis=1)
    return np.where(best_value > 0, picked, -1)
