"""Churn risk: the probability that a customer buys nothing in the next H days.

Features are computed as of a cut-off day from the purchases on or before it: RFM
(log recency, orders, average order value), inter-purchase statistics (mean and
spread of the gaps between orders, and how overdue the next order is), the trend of
spend and of orders (last H days against the H before) and category breadth.
Features that only grow with time (tenure, lifetime spend) are left out: the model
is fitted at one cut-off and applied at a later one, and they would drift between
the two. The model is an L2 logistic regression fitted by Newton's method on
standardised features; its probabilities are then recalibrated with Platt scaling
fitted on a held-out fold of the training customers, so that a risk of 0.3 means
about 3 in 10 churn.
"""

from dataclasses import dataclass

import numpy as np

DEFAULT_HORIZON_DAYS = 60
FEATURES = (
    "log_recency",
    "log_frequency",
    "log_order_value",
    "log_mean_gap",
    "gap_spread",
    "overdue",
    "spend_trend",
    "log_orders_last_h",
    "log_orders_h_before",
    "log_categories",
    "single_purchase",
)
EPS = 1e-6


@dataclass(frozen=True)
class Purchases:
    """Order lines as parallel arrays: customer index, order id, day, amount, category."""

    customer: np.ndarray
    order: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    category: np.ndarray
    n_customers: int

    def until(self, day: int) -> "Purchases":
        keep = self.day <= day
        return Purchases(
            self.customer[keep],
            self.order[keep],
            self.day[keep],
            self.amount[keep],
            self.category[keep],
            self.n_customers,
        )

    def orders(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (customer, day, amount) per order, sorted by customer then day."""
        if len(self.order) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        ids, first, inverse = np.unique(
            self.order, return_index=True, return_inverse=True
        )
        amount = np.bincount(inverse, weights=self.amount, minlength=len(ids))
        customer, day = self.customer[first], self.day[first]
        sort = np.lexsort((day, customer))
        return customer[sort], day[sort], amount[sort]


@dataclass(frozen=True)
class RfmValues:
    """Per customer as of a cut-off: recency days (0 if none), orders and spend."""

    recency_days: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray


def rfm_values(purchases: Purchases, as_of: int) -> RfmValues:
    """Return recency, frequency (orders) and monetary value as of day `as_of`."""
    customer, day, amount = purchases.until(as_of).orders()
    n = purchases.n_customers
    frequency = np.bincount(customer, minlength=n)
    monetary = np.bincount(customer, weights=amount, minlength=n)
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, customer, day)
    recency = np.where(frequency > 0, as_of - last, 0)
    return RfmValues(recency, frequency, monetary)


def adaptive_horizon(purchases: Purchases, *, low: int = 14, high: int = 180) -> int:
    """Return twice the shop's median gap between a customer's orders, in bounds."""
    customer, day, _ = purchases.orders()
    same = customer[1:] == customer[:-1]
    gaps = (day[1:] - day[:-1])[same]
    gaps = gaps[gaps > 0]
    if len(gaps) == 0:
        return DEFAULT_HORIZON_DAYS
    return int(np.clip(round(2 * float(np.median(gaps))), low, high))


def churn_features(
    purchases: Purchases, cutoff: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return (features, has_history) per customer as of day `cutoff`.

    Rows of customers without a purchase on or before the cut-off are zeros and
    `has_history` is False for them: they cannot be scored.
    """
    history = purchases.until(cutoff)
    n = purchases.n_customers
    customer, day, amount = history.orders()
    rfm = rfm_values(purchases, cutoff)
    frequency = rfm.frequency.astype(np.float64)
    has_history = frequency > 0

    same = np.zeros(len(customer), dtype=bool)
    same[1:] = customer[1:] == customer[:-1]
    previous = np.zeros(len(day), dtype=np.float64)
    previous[1:] = day[:-1]
    gap = np.where(same, day - previous, 0).astype(np.float64)
    n_gaps = np.bincount(customer[same], minlength=n).astype(np.float64)
    gap_sum = np.bincount(customer, weights=gap, minlength=n)
    gap_sq = np.bincount(customer, weights=gap**2, minlength=n)
    repeat = n_gaps > 0
    all_gaps = gap[same]
    typical_gap = float(np.median(all_gaps)) if len(all_gaps) else float(horizon)
    mean_gap = np.where(repeat, gap_sum / np.maximum(n_gaps, 1), typical_gap)
    variance = np.where(repeat, gap_sq / np.maximum(n_gaps, 1) - mean_gap**2, 0.0)
    spread = np.sqrt(np.maximum(variance, 0.0)) / (mean_gap + 1.0)
    recency = rfm.recency_days.astype(np.float64)

    recent = day > cutoff - horizon
    before = (day > cutoff - 2 * horizon) & ~recent
    spend_recent = np.bincount(customer[recent], amount[recent], minlength=n)
    spend_before = np.bincount(customer[before], amount[before], minlength=n)
    orders_recent = np.bincount(customer[recent], minlength=n)
    orders_before = np.bincount(customer[before], minlength=n)

    width = int(history.category.max(initial=0)) + 1
    pairs = np.unique(history.customer * width + history.category)
    breadth = np.bincount(pairs // width, minlength=n)
    features = np.column_stack(
        [
            np.log1p(recency),
            np.log1p(frequency),
            np.log1p(np.maximum(rfm.monetary, 0.0) / np.maximum(frequency, 1.0)),
            np.log1p(mean_gap),
            spread,
            np.log1p(recency / (mean_gap + 1.0)),
            np.log1p(spend_recent) - np.log1p(spend_before),
            np.log1p(orders_recent),
            np.log1p(orders_before),
            np.log1p(breadth),
            (frequency == 1).astype(np.float64),
        ]
    )
    features[~has_history] = 0.0
    return features, has_history


def churn_labels(purchases: Purchases, cutoff: int, horizon: int) -> np.ndarray:
    """Return True for customers who buy nothing in (cutoff, cutoff + horizon]."""
    window = (purchases.day > cutoff) & (purchases.day <= cutoff + horizon)
    bought = np.bincount(purchases.customer[window], minlength=purchases.n_customers)
    return bought == 0


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))


def _newton_logistic(
    x: np.ndarray, y: np.ndarray, l2: float, iterations: int = 50
) -> np.ndarray:
    """Return weights (intercept last) of an L2 logistic regression (no L2 on bias)."""
    design = np.column_stack([x, np.ones(len(x))])
    w = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = _sigmoid(design @ w)
        gradient = design.T @ (p - y) + penalty * w
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


class ChurnModel:
    """Standardised L2 logistic regression with Platt recalibration."""

    algorithm = "logistic-churn"

    def __init__(self, *, l2: float = 1.0, calibration_share: float = 0.25, seed=0):
        self.l2 = l2
        self.calibration_share = calibration_share
        self.seed = seed
        self.mean = self.scale = self.weights = None
        self.platt = np.array([1.0, 0.0])

    def fit(self, x: np.ndarray, y: np.ndarray) -> "ChurnModel":
        y = np.asarray(y, dtype=np.float64)
        self.mean = x.mean(axis=0)
        self.scale = x.std(axis=0) + EPS
        z = (x - self.mean) / self.scale
        rng = np.random.default_rng(self.seed)
        held = rng.random(len(y)) < self.calibration_share
        if held.sum() >= 20 and len(np.unique(y[held])) == 2 and (~held).sum() >= 20:
            fold = _newton_logistic(z[~held], y[~held], self.l2)
            logit = np.column_stack([z[held], np.ones(held.sum())]) @ fold
            a, b = _newton_logistic(logit[:, None], y[held], 0.0)
            self.platt = np.array([a, b])
        self.weights = _newton_logistic(z, y, self.l2)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.scale
        logit = np.column_stack([z, np.ones(len(z))]) @ self.weights
        return _sigmoid(self.platt[0] * logit + self.platt[1])

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "churn_mean": self.mean,
            "churn_scale": self.scale,
            "churn_weights": self.weights,
            "churn_platt": self.platt,
        }

    @classmethod
    def from_arrays(cls, arrays) -> "ChurnModel":
        model = cls()
        model.mean = np.asarray(arrays["churn_mean"])
        model.scale = np.asarray(arrays["churn_scale"])
        model.weights = np.asarray(arrays["churn_weights"])
        model.platt = np.asarray(arrays["churn_platt"])
        return model


def recency_rank(recency_days: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Return each recency's position (0–1) among the recencies `quantiles` summarise."""
    levels = np.linspace(0.0, 1.0, len(quantiles))
    return np.interp(np.asarray(recency_days, dtype=np.float64), quantiles, levels)


def recency_quantiles(recency_days: np.ndarray, points: int = 101) -> np.ndarray:
    return np.percentile(
        np.asarray(recency_days, dtype=np.float64), np.linspace(0, 100, points)
    )


# --- metrics: one place computes each ------------------------------------------
def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Return the area under the ROC curve (ties count half); 0.5 if one class."""
    y = np.asarray(y, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return 0.5
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=np.float64)
    sorted_scores = np.asarray(score)[order]
    _, start, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = start + (counts + 1) / 2.0  # 1-based average rank of each tie group
    ranks[order] = np.repeat(average, counts)
    return float(
        (ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    )


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((np.asarray(p) - np.asarray(y, dtype=np.float64)) ** 2))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    y = np.asarray(y, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def churn_metrics(y: np.ndarray, p: np.ndarray, coverage: float) -> dict[str, float]:
    """Return the registry metrics of churn probabilities `p` for outcomes `y`."""
    return {
        "auc": round(auc(y, p), 6),
        "brier": round(brier(y, p), 6),
        "log_loss": round(log_loss(y, p), 6),
        "coverage": round(float(coverage), 6),
    }
