"""Temperature scaling (Guo et al., 2017): one scalar that makes confidences honest."""

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

MIN_LOG_T, MAX_LOG_T = np.log(0.05), np.log(20.0)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Return the temperature that minimises the negative log-likelihood of `labels`."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return 1.0
    rows = np.arange(len(labels))

    def nll(log_t: float) -> float:
        return -float(
            np.mean(log_softmax(logits / np.exp(log_t), axis=1)[rows, labels])
        )

    result = minimize_scalar(nll, bounds=(MIN_LOG_T, MAX_LOG_T), method="bounded")
    return float(np.exp(result.x))


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Return class probabilities of `logits` divided by `temperature`."""
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)


def negative_log_likelihood(proba: np.ndarray, labels: np.ndarray) -> float:
    """Return the mean negative log-probability given to the true classes."""
    picked = np.asarray(proba)[np.arange(len(labels)), np.asarray(labels)]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))
