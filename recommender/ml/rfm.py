"""RFM: recency, frequency and monetary value scored 1–5 and named segments.

Scores are quintiles of the customers who have bought: the four inner edges are the
20th, 40th, 60th and 80th percentiles fitted once (`fit_edges`) and stored with the
model, so a customer scored later is compared with the same population. A value's
score is 1 + the number of edges strictly below it, so ties at the low end (say,
half the customers bought once) all get the lowest score. Recency is reversed: fewer
days since the last purchase score higher. Customers who never bought score 0.

Named segments come from the usual R×F grid (M only separates "can't lose them"),
evaluated in this order:

=============  =====================================================
champions      R ≥ 4 and F ≥ 4: bought recently and often
loyal          R ≥ 3 and F ≥ 3: buy regularly
new            R ≥ 4 and F = 1: first purchase was recent
potential      R ≥ 3 (F ≤ 2): recent, not yet regular
cant_lose      R ≤ 2 and F ≥ 4 and M ≥ 4: were big regulars, gone quiet
at_risk        R ≤ 2 and F ≥ 3: were regulars, gone quiet
hibernating    R = 2 (F ≤ 2): a while since a few purchases
lost           everyone else (R = 1, F ≤ 2)
=============  =====================================================

A customer who never bought (R = 0) is "new" if they joined recently (within the
churn horizon, decided by the caller) and "lost" otherwise: an account that has not
bought in all that time is not a newcomer.
"""

from dataclasses import dataclass

import numpy as np

SEGMENTS = (
    "champions",
    "loyal",
    "new",
    "potential",
    "cant_lose",
    "at_risk",
    "hibernating",
    "lost",
)
QUINTILES = (20, 40, 60, 80)


@dataclass(frozen=True)
class RfmEdges:
    """The four inner quintile edges of recency days, frequency and monetary value."""

    recency: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray

    def as_array(self) -> np.ndarray:
        return np.stack([self.recency, self.frequency, self.monetary])

    @classmethod
    def from_array(cls, array: np.ndarray) -> "RfmEdges":
        return cls(*(np.asarray(row, dtype=np.float64) for row in array))


def fit_edges(
    recency_days: np.ndarray, frequency: np.ndarray, monetary: np.ndarray
) -> RfmEdges:
    """Return the quintile edges of customers who have bought (frequency > 0)."""
    bought = np.asarray(frequency) > 0
    if not bought.any():
        zeros = np.zeros(len(QUINTILES))
        return RfmEdges(zeros, zeros, zeros)

    def edges(values):
        return np.percentile(np.asarray(values, dtype=np.float64)[bought], QUINTILES)

    return RfmEdges(edges(recency_days), edges(frequency), edges(monetary))


def quintile_score(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Return 1 + the number of edges strictly below each value (1 to 5)."""
    values = np.asarray(values, dtype=np.float64)
    return 1 + np.searchsorted(np.asarray(edges), values, side="left")


def rfm_scores(
    recency_days: np.ndarray,
    frequency: np.ndarray,
    monetary: np.ndarray,
    edges: RfmEdges,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (r, f, m) scores 1–5; 0 for customers who never bought."""
    bought = np.asarray(frequency) > 0
    recency = np.where(bought, recency_days, 0)
    r = 6 - quintile_score(recency, edges.recency)
    f = quintile_score(frequency, edges.frequency)
    m = quintile_score(monetary, edges.monetary)
    return tuple(np.where(bought, s, 0).astype(np.int64) for s in (r, f, m))


def segment_names(
    r: np.ndarray,
    f: np.ndarray,
    m: np.ndarray,
    recently_joined: np.ndarray | None = None,
) -> np.ndarray:
    """Return the named segment of each customer from the grid in this module's doc;
    `recently_joined` (default: all) only matters for those who never bought."""
    r, f, m = (np.asarray(a) for a in (r, f, m))
    if recently_joined is None:
        recently_joined = np.ones(len(r), dtype=bool)
    conditions = [
        (r == 0) & recently_joined,
        r == 0,
        (r >= 4) & (f >= 4),
        (r >= 3) & (f >= 3),
        (r >= 4) & (f == 1),
        r >= 3,
        (r <= 2) & (f >= 4) & (m >= 4),
        (r <= 2) & (f >= 3),
        r == 2,
    ]
    choices = ["new", "lost", "champions", "loyal", "new", "potential"]
    choices += ["cant_lose", "at_risk", "hibernating"]
    return np.select(conditions, choices, default="lost").astype(object)
