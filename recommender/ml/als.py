"""Implicit-feedback matrix factorisation (Hu, Koren & Volinsky, 2008) with `implicit`.

The item factors come from `implicit`'s CPU ALS; a customer's factors are solved
from their history at scoring time (the same least squares ALS solves for users), so
customers who were not in the training data, or have bought since, are scored on
what they have now.
"""

import io
import json
from dataclasses import dataclass, field

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares
from scipy import sparse
from threadpoolctl import threadpool_limits

from .neighbours import sparse_incidence
from .protocol import Interactions


@dataclass
class ALS:
    """Confidence 1 + alpha·weight per customer and item; `factors` latent dimensions."""

    factors: int = 64
    regularization: float = 10.0
    alpha: float = 1.0
    iterations: int = 15
    threads: int = 2
    seed: int = 0
    item_factors: np.ndarray | None = field(default=None, repr=False)
    n_items: int = 0
    algorithm = "als"

    def fit(self, data: Interactions) -> "ALS":
        self.n_items = data.n_items
        users = np.unique(data.user)
        confidence = self._confidence(sparse_incidence(data, users))
        with threadpool_limits(1, "blas"):  # implicit's threads, not BLAS's
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=1.0,
                iterations=self.iterations,
                num_threads=self.threads,
                random_state=self.seed,
                calculate_training_loss=False,
            )
            model.fit(confidence, show_progress=False)
        self.item_factors = np.asarray(model.item_factors, np.float32)
        return self

    def _confidence(self, incidence: sparse.csr_matrix) -> sparse.csr_matrix:
        """Return 1 + alpha·weight on each stored entry (weight: largest interaction)."""
        out = incidence.astype(np.float32, copy=True)
        out.data = 1.0 + self.alpha * out.data
        return out

    def user_factors(self, history: Interactions, users: np.ndarray) -> np.ndarray:
        """Solve (YᵀY + λI + Yᵀ(C_u − I)Y) x_u = Yᵀ C_u p_u for each user."""
        y = self.item_factors.astype(np.float64)
        base = y.T @ y + self.regularization * np.eye(self.factors)
        confidence = self._confidence(sparse_incidence(history, users))
        out = np.zeros((len(users), self.factors), np.float32)
        for row in range(len(users)):
            start, end = confidence.indptr[row], confidence.indptr[row + 1]
            if start == end:
                continue  # no history: a zero vector, every item scores 0
            items = confidence.indices[start:end]
            c = confidence.data[start:end].astype(np.float64)
            mine = y[items]
            a = base + (mine * (c - 1.0)[:, None]).T @ mine
            out[row] = np.linalg.solve(a, c @ mine)
        return out

    def score(self, history: Interactions, users: np.ndarray) -> np.ndarray:
        return self.user_factors(history, users) @ self.item_factors.T

    def to_bytes(self, **extra) -> bytes:
        buffer = io.BytesIO()
        config = {
            "factors": self.factors,
            "regularization": self.regularization,
            "alpha": self.alpha,
            "iterations": self.iterations,
            "threads": self.threads,
            "seed": self.seed,
            "n_items": self.n_items,
        }
        np.savez(
            buffer,
            **{k: np.asarray(v) for k, v in extra.items()},
            algorithm=np.asarray(self.algorithm),
            config=np.asarray(json.dumps(config)),
            item_factors=self.item_factors,
        )
        return buffer.getvalue()

    @classmethod
    def from_arrays(cls, arrays) -> "ALS":
        return cls(
            **json.loads(str(arrays["config"])), item_factors=arrays["item_factors"]
        )
