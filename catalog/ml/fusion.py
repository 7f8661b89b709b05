"""Late fusion: the image+title network with a TF-IDF title model beside it.

The network reads the photo and the title's words; the TF-IDF logistic regression
reads the title's words and characters (typos, plurals, glued words), which a small
network trained on a few thousand titles learns less well. Their calibrated
log-probabilities are averaged with a weight chosen on validation data (the one
that minimises the negative log-likelihood there), and the mix is temperature-scaled
on the same data. A product whose title has no word the network knows (a SKU, say)
is classified by the network's image head alone: characters of a SKU say nothing.
"""

import io
import json
from collections.abc import Sequence

import numpy as np
from scipy.special import log_softmax

from .baselines import TitleOnly
from .calibration import apply_temperature, fit_temperature, negative_log_likelihood
from .classifier import ProductClassifier, words

WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 2)  # of the network, on validation


class ImageTitleTfidf:
    """The image+title network's probabilities fused with a TF-IDF title model's."""

    name = "image+title+tfidf"
    use_image = True
    use_title = True

    def __init__(
        self,
        network: ProductClassifier | None = None,
        title_model: TitleOnly | None = None,
        *,
        seed: int = 0,
    ):
        self.network = network
        self.title_model = title_model
        self.seed = seed
        self.weight = 1.0  # of the network; 1 - weight of the TF-IDF model
        self.temperature = 1.0
        self.validation_nll: dict[float, float] = {}

    @property
    def n_classes(self) -> int:
        return self.network.n_classes

    @property
    def config(self):
        return self.network.config

    def fit(
        self,
        images: np.ndarray,
        titles: Sequence[str],
        labels: np.ndarray,
        n_classes: int,
        *,
        validation: tuple,
    ) -> "ImageTitleTfidf":
        """Train both models on the training rows, then weigh them on validation."""
        if self.network is None:
            self.network = ProductClassifier(seed=self.seed)
        if self.title_model is None:
            self.title_model = TitleOnly(seed=self.seed)
        for model in (self.network, self.title_model):
            model.fit(images, titles, labels, n_classes, validation=validation)
        return self.fit_weight(*validation)

    def fit_weight(self, images, titles, labels) -> "ImageTitleTfidf":
        """Choose the network's weight and the temperature on validation data."""
        labels = np.asarray(labels, dtype=np.int64)
        parts = self._log_probabilities(self.network.predict_proba(images, titles))
        tfidf = self._tfidf_log_probabilities(titles)
        silent = self._silent(titles)
        self.validation_nll = {}
        best = None
        for weight in WEIGHTS:
            logits = self._mix(parts, tfidf, silent, float(weight))
            temperature = fit_temperature(logits, labels)
            nll = negative_log_likelihood(
                apply_temperature(logits, temperature), labels
            )
            self.validation_nll[float(weight)] = round(nll, 6)
            if best is None or nll < best[0] - 1e-9:
                best = (nll, float(weight), temperature)
        _, self.weight, self.temperature = best
        return self

    # Prediction -------------------------------------------------------------------

    def predict_proba(self, images, titles) -> np.ndarray:
        """Return calibrated class probabilities, [n, n_classes]."""
        return self._fused(self.network.predict_proba(images, titles), titles)

    def predict_with_embeddings(self, images, titles) -> tuple[np.ndarray, np.ndarray]:
        """Return calibrated probabilities and the network's image embeddings."""
        proba, embeddings = self.network.predict_with_embeddings(images, titles)
        return self._fused(proba, titles), embeddings

    def embed(self, images) -> np.ndarray:
        return self.network.embed(images)

    def _fused(self, network_proba: np.ndarray, titles) -> np.ndarray:
        if len(network_proba) == 0:
            return network_proba
        logits = self._mix(
            self._log_probabilities(network_proba),
            self._tfidf_log_probabilities(titles),
            self._silent(titles),
            self.weight,
        )
        return apply_temperature(logits, self.temperature)

    @staticmethod
    def _mix(network, tfidf, silent, weight: float) -> np.ndarray:
        mixed = weight * network + (1 - weight) * tfidf
        mixed[silent] = network[silent]
        return mixed

    @staticmethod
    def _log_probabilities(proba: np.ndarray) -> np.ndarray:
        return np.log(np.clip(proba, 1e-12, 1.0))

    def _tfidf_log_probabilities(self, titles) -> np.ndarray:
        titles = [str(t) for t in titles]
        return log_softmax(
            self.title_model._logits(titles) / self.title_model.temperature, axis=1
        )

    def _silent(self, titles) -> np.ndarray:
        """Return which titles have no word the network knows (SKUs, say)."""
        vocabulary = set(self.network.vocabulary)
        return np.array(
            [vocabulary.isdisjoint(words(str(t))) for t in titles], dtype=bool
        )

    # Description and persistence --------------------------------------------------

    def hyperparameters(self) -> dict:
        return {
            **self.network.hyperparameters(),
            "tfidf_c": self.title_model.c,
            "tfidf_temperature": self.title_model.temperature,
            "network_weight": self.weight,
            "fusion_temperature": self.temperature,
        }

    def to_bytes(self) -> bytes:
        """Return both models and the fusion's weight as one NumPy archive."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            meta=np.asarray(
                json.dumps(
                    {
                        "seed": self.seed,
                        "weight": self.weight,
                        "temperature": self.temperature,
                        "validation_nll": self.validation_nll,
                    }
                )
            ),
            network=np.frombuffer(self.network.to_bytes(), dtype=np.uint8),
            title_model=np.frombuffer(self.title_model.to_bytes(), dtype=np.uint8),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "ImageTitleTfidf":
        """Return the fused model that `to_bytes` wrote."""
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            meta = json.loads(str(arrays["meta"]))
            model = cls(
                ProductClassifier.from_bytes(arrays["network"].tobytes()),
                TitleOnly.from_bytes(arrays["title_model"].tobytes()),
                seed=meta["seed"],
            )
        model.weight = float(meta["weight"])
        model.temperature = float(meta["temperature"])
        model.validation_nll = {float(k): v for k, v in meta["validation_nll"].items()}
        return model
