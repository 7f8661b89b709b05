"""Auto-assign policy: per-category confidence thresholds that reach a target precision.

A product is filed automatically when the model's confidence in its top category is at
least that category's threshold; otherwise it goes to the review queue.
"""

import numpy as np

MIN_SUPPORT = 20  # validation predictions a category needs for its own threshold


def thresholds_for_precision(
    proba: np.ndarray,
    labels: np.ndarray,
    target: float = 0.95,
    min_support: int = MIN_SUPPORT,
    z: float = 0.0,
) -> np.ndarray:
    """Return per-class thresholds reaching `target` precision on validation data.

    Each class gets the lowest threshold at which the products predicted as that class
    with at least that confidence are correct at least `target` of the time. Classes
    predicted fewer than `min_support` times share a threshold chosen on all
    predictions pooled (but never below their own, where they have one); `np.inf`
    means "never auto-assign". With `z` > 0 the precision that must reach the
    target is the Wilson lower bound at `z` standard errors, not the observed one:
    a cut that 30 validation products reach by luck does not promise 99%.
    """
    proba = np.asarray(proba, dtype=np.float64)
    labels = np.asarray(labels)
    predicted = proba.argmax(axis=1)
    confidence = proba.max(axis=1)
    correct = predicted == labels
    pooled = _lowest_threshold(confidence, correct, target, z)
    thresholds = np.full(proba.shape[1], pooled)
    for index in range(proba.shape[1]):
        rows = predicted == index
        own = _lowest_threshold(confidence[rows], correct[rows], target, z)
        if rows.sum() >= min_support:
            thresholds[index] = own
        elif rows.any():
            thresholds[index] = max(own, pooled) if np.isfinite(own) else pooled
    return thresholds


def auto_assign(
    proba: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (assigned mask, predicted class, confidence) for each product.

    `thresholds` are per category, [k], or per product and category, [n, k].
    """
    proba = np.asarray(proba)
    predicted = proba.argmax(axis=1)
    confidence = proba.max(axis=1)
    thresholds = np.asarray(thresholds)
    if thresholds.ndim == 2:
        cut = thresholds[np.arange(len(predicted)), predicted]
    else:
        cut = thresholds[predicted]
    assigned = confidence >= cut
    return assigned, predicted, confidence


def _lowest_threshold(
    confidence: np.ndarray, correct: np.ndarray, target: float, z: float = 0.0
):
    """Return the lowest confidence cut whose predictions above are precise enough."""
    if len(confidence) == 0:
        return np.inf
    order = np.argsort(-confidence, kind="stable")
    confidence, correct = confidence[order], correct[order]
    n = np.arange(1, len(correct) + 1)
    precision = wilson_lower_bound(np.cumsum(correct), n, z)
    # A cut can only fall where the confidence changes (ties go in together).
    cut_allowed = np.append(confidence[1:] < confidence[:-1], True)
    reachable = np.flatnonzero((precision >= target) & cut_allowed)
    return float(confidence[reachable[-1]]) if len(reachable) else np.inf


def wilson_lower_bound(successes, n, z: float) -> np.ndarray:
    """Return the Wilson score interval's lower end (the observed share at z=0)."""
    n = np.asarray(n, dtype=np.float64)
    share = np.asarray(successes, dtype=np.float64) / n
    if z <= 0:
        return share
    middle = share + z**2 / (2 * n)
    spread = z * np.sqrt(share * (1 - share) / n + z**2 / (4 * n**2))
    return (middle - spread) / (1 + z**2 / n)
