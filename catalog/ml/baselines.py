"""Baselines a categoriser must beat: the commonest category, and the title alone."""

import io
import pickle

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union

from .calibration import apply_temperature, fit_temperature


class MajorityClass:
    """Predict the training class frequencies for every product."""

    name = "majority"

    def __init__(self):
        self.frequencies = np.zeros(0)

    def fit(self, images, titles, labels, n_classes, *, validation=None):
        counts = np.bincount(np.asarray(labels), minlength=n_classes)
        self.frequencies = counts / counts.sum()
        return self

    def predict_proba(self, images, titles) -> np.ndarray:
        n = len(images) if images is not None else len(titles)
        return np.tile(self.frequencies, (n, 1))

    def hyperparameters(self) -> dict:
        return {}

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, self.frequencies)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "MajorityClass":
        model = cls()
        model.frequencies = np.load(io.BytesIO(data), allow_pickle=False)
        return model


class Pickled:
    """Artifact bytes by pickle, for fitted scikit-learn pipelines: only ever load
    artifacts this project wrote (they are checksummed in the registry)."""

    def to_bytes(self) -> bytes:
        return pickle.dumps(self)

    @classmethod
    def from_bytes(cls, data: bytes):
        model = pickle.loads(data)  # noqa: S301 - our own checksummed artifact
        if not isinstance(model, cls):
            raise ValueError(f"These bytes are not a {cls.__name__} model.")
        return model


class TitleOnly(Pickled):
    """TF-IDF of title words and characters, then a logistic regression."""

    name = "title-tfidf"

    def __init__(self, c: float = 20.0, seed: int = 0):
        self.c = c
        self.seed = seed
        self.n_classes = 0
        self.temperature = 1.0
        self.pipeline = None

    def fit(self, images, titles, labels, n_classes, *, validation=None):
        """Fit on titles; `validation` = (images, titles, labels) calibrates."""
        labels = np.asarray(labels)
        self.n_classes = n_classes
        self.pipeline = make_pipeline(
            make_union(
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True
                ),
            ),
            LogisticRegression(C=self.c, max_iter=2000, random_state=self.seed),
        )
        self.pipeline.fit(list(titles), labels)
        if validation is not None:
            self.temperature = fit_temperature(
                self._logits(validation[1]), np.asarray(validation[2])
            )
        return self

    def predict_proba(self, images, titles) -> np.ndarray:
        return apply_temperature(self._logits(titles), self.temperature)

    def _logits(self, titles) -> np.ndarray:
        """Return log-probabilities over all classes (very low for unseen ones)."""
        logits = np.full((len(titles), self.n_classes), -30.0)
        seen = self.pipeline.classes_
        logits[:, seen] = self.pipeline.predict_log_proba(list(titles))
        return logits

    def hyperparameters(self) -> dict:
        return {"c": self.c, "temperature": self.temperature}
