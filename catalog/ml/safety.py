"""Keeping auto-assignment safe: what kind of input a product is, and when to ask.

A product's name is *informative* when most of its words were seen in training
titles; a code (`IMG-18653`, `A7-33-XK`, `SKU_ab12`), an empty name or a name in
another language has none, and the picture alone decides. Each kind gets its own
per-category thresholds, chosen on validation data classified as that kind (names
hidden for the picture-only kind), so that the target precision holds on both.

Some inputs are unlike anything the model was measured on, and a threshold chosen on
validation data promises nothing about them. They go to review, with the reason:

- a name mostly of words never seen in training (but not none: then the picture
  decides);
- a picture unlike every training picture (its distance to the nearest training
  picture, in a PCA of the image features, beyond what validation pictures reach);
- the picture experts ruling out the chosen category (they give it less probability
  than almost every correctly classified validation product got);
- a spread-out distribution (entropy beyond what confidently filed validation
  products had).

Every cut-off is chosen on validation data; nothing here reads the test data.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from .baselines import Pickled
from .text import PUNCTUATION

NAMED, UNNAMED, MIXED = "named", "unnamed", "mixed"
INFORMATIVE_SHARE = 0.5  # known words a name needs to count as informative
PCA_DIMENSIONS = 32
QUANTILE = 0.995  # of validation products inside each cut-off
MAX_REFERENCE = 6000  # training pictures kept to measure distances against


def tokens(name: str) -> list[str]:
    """Return a name's words, as the models read them (lower case, no punctuation)."""
    return PUNCTUATION.sub("", str(name).lower()).split()


def known_share(names: Sequence[str], vocabulary) -> np.ndarray:
    """Return the share of each name's words found in `vocabulary` (0 without words)."""
    known = set(vocabulary)
    shares = []
    for name in names:
        words = tokens(name)
        shares.append(sum(w in known for w in words) / len(words) if words else 0.0)
    return np.asarray(shares, dtype=np.float64)


def input_kinds(names: Sequence[str], vocabulary) -> np.ndarray:
    """Return each name's kind: named, unnamed (no known word) or mixed."""
    share = known_share(names, vocabulary)
    kinds = np.full(len(share), MIXED, dtype=object)
    kinds[share >= INFORMATIVE_SHARE] = NAMED
    kinds[share == 0] = UNNAMED
    return kinds


def normalised_entropy(proba: np.ndarray) -> np.ndarray:
    """Return each row's entropy divided by the largest possible (0 to 1)."""
    proba = np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1.0)
    k = proba.shape[1]
    return -(proba * np.log(proba)).sum(1) / np.log(k) if k > 1 else proba[:, 0] * 0


@dataclass
class ReviewRules(Pickled):
    """Cut-offs that send an unusual input to review, chosen on validation data."""

    entropy: dict[str, float] = field(default_factory=dict)  # by input kind
    picture_agreement: dict[str, float] = field(default_factory=dict)  # by kind
    distance: float = float("inf")
    scaler: StandardScaler | None = None
    pca: PCA | None = None
    reference: np.ndarray | None = None  # training pictures in PCA space

    # Fitting ----------------------------------------------------------------------

    def fit_reference(self, train_features: np.ndarray, seed: int = 0) -> None:
        """Keep the training pictures' image features, reduced, to measure novelty."""
        features = np.asarray(train_features, dtype=np.float64)
        rng = np.random.default_rng(seed)
        if len(features) > MAX_REFERENCE:
            features = features[rng.choice(len(features), MAX_REFERENCE, False)]
        self.scaler = StandardScaler().fit(features)
        scaled = self.scaler.transform(features)
        dims = max(1, min(PCA_DIMENSIONS, len(features) - 1, features.shape[1]))
        self.pca = PCA(dims, random_state=seed).fit(scaled)
        self.reference = self.pca.transform(scaled).astype(np.float32)

    def fit_cutoffs(
        self,
        kind: str,
        proba: np.ndarray,
        labels: np.ndarray,
        thresholds: np.ndarray,
        picture_proba: np.ndarray | None,
        features: np.ndarray | None = None,
    ) -> None:
        """Choose one kind's cut-offs on its validation predictions.

        `features` (the validation pictures' image features) sets the distance
        cut-off; `picture_proba` the agreement one.
        """
        proba = np.asarray(proba)
        labels = np.asarray(labels)
        predicted = proba.argmax(1)
        confident = proba.max(1) >= np.asarray(thresholds)[predicted]
        entropy = normalised_entropy(proba)
        chosen = entropy[confident] if confident.any() else entropy
        self.entropy[kind] = float(np.quantile(chosen, QUANTILE)) if len(chosen) else 1
        correct = predicted == labels
        if picture_proba is not None and correct.any():
            given = np.asarray(picture_proba)[np.arange(len(labels)), predicted]
            self.picture_agreement[kind] = float(
                np.quantile(given[correct], 1 - QUANTILE)
            )
        if features is not None and self.reference is not None and len(features):
            self.distance = float(np.quantile(self.distances(features), QUANTILE))

    # Use --------------------------------------------------------------------------

    def distances(self, features: np.ndarray) -> np.ndarray:
        """Return each picture's distance to its nearest training picture."""
        if self.reference is None or len(features) == 0:
            return np.zeros(len(features))
        points = self.pca.transform(self.scaler.transform(features)).astype(np.float32)
        squared_reference = (self.reference**2).sum(1)
        nearest = np.empty(len(points))
        for start in range(0, len(points), 1024):
            block = points[start : start + 1024]
            squared = (
                (block**2).sum(1)[:, None]
                - 2 * block @ self.reference.T
                + squared_reference[None, :]
            )
            nearest[start : start + 1024] = np.sqrt(np.maximum(squared.min(1), 0))
        return nearest

    def reasons(
        self,
        kinds: np.ndarray,
        proba: np.ndarray,
        picture_proba: np.ndarray | None,
        features: np.ndarray | None,
        category_names: Sequence[str] | None = None,
    ) -> list[str]:
        """Return why each product must be reviewed ("" where nothing is unusual)."""
        proba = np.asarray(proba)
        n = len(proba)
        found: list[list[str]] = [[] for _ in range(n)]
        for row in np.flatnonzero(np.asarray(kinds) == MIXED):
            found[row].append("name mostly of words never seen in training")
        if features is not None and np.isfinite(self.distance):
            far = self.distances(features) > self.distance
            for row in np.flatnonzero(far):
                found[row].append("picture unlike every training picture")
        predicted = proba.argmax(1) if n else np.zeros(0, dtype=np.int64)
        if picture_proba is not None and n:
            picture_proba = np.asarray(picture_proba)
            given = picture_proba[np.arange(n), predicted]
            for row in range(n):
                cut = self.picture_agreement.get(str(kinds[row]))
                if cut is not None and given[row] < cut:
                    best = int(picture_proba[row].argmax())
                    said = category_names[best] if category_names else f"class {best}"
                    found[row].append(f"the picture says {said}")
        entropy = normalised_entropy(proba) if n else np.zeros(0)
        for row in range(n):
            cut = self.entropy.get(str(kinds[row]))
            if cut is not None and entropy[row] > cut:
                found[row].append("confidence spread over several categories")
        return ["; ".join(reasons) for reasons in found]

    def summary(self) -> dict:
        """Return the cut-offs, for the registry."""
        return {
            "entropy": dict(self.entropy),
            "picture_agreement": dict(self.picture_agreement),
            "distance": self.distance,
            "reference_pictures": 0 if self.reference is None else len(self.reference),
        }


def row_thresholds(
    kinds: np.ndarray, thresholds: np.ndarray, unnamed: np.ndarray | None
) -> np.ndarray:
    """Return each product's per-category thresholds, [n, k]: those of its kind."""
    rows = np.tile(np.asarray(thresholds, dtype=np.float64), (len(kinds), 1))
    if unnamed is not None:
        rows[np.asarray(kinds) == UNNAMED] = np.asarray(unnamed, dtype=np.float64)
    return rows


def held_for_review(reasons: Sequence[str]) -> np.ndarray:
    """Return which products the review rules hold back."""
    return np.array([bool(r) for r in reasons], dtype=bool)


@dataclass
class Decisions:
    """What the served policy makes of a batch of products."""

    proba: np.ndarray
    kinds: np.ndarray
    thresholds: np.ndarray  # [n, k]: each product's, by its kind
    reasons: list[str]  # why a product goes to review whatever its confidence
    embeddings: np.ndarray | None = None

    @property
    def held(self) -> np.ndarray:
        return held_for_review(self.reasons)


def served_decisions(
    model,
    images,
    titles: Sequence[str],
    thresholds: np.ndarray,
    *,
    unnamed_thresholds: np.ndarray | None = None,
    rules: ReviewRules | None = None,
    category_names: Sequence[str] | None = None,
    with_embeddings: bool = False,
) -> Decisions:
    """Classify products as served: probabilities, each product's thresholds (by
    the kind of its name) and the review rules' reasons.

    `model` is the fused model (`predict_details`) or any model with
    `predict_proba`; only the fused model knows names' kinds.
    """
    titles = [str(t) for t in titles]
    details = {}
    if hasattr(model, "predict_details"):
        details = model.predict_details(images, titles, with_embeddings=with_embeddings)
        proba = details["proba"]
        kinds = input_kinds(titles, model.network.vocabulary)
    else:
        proba = model.predict_proba(images, titles)
        kinds = np.full(len(titles), NAMED, dtype=object)
    reasons = [""] * len(titles)
    if rules is not None and len(titles):
        reasons = rules.reasons(
            kinds,
            proba,
            details.get("pictures"),
            details.get("features"),
            category_names,
        )
    return Decisions(
        proba=proba,
        kinds=kinds,
        thresholds=row_thresholds(kinds, thresholds, unnamed_thresholds),
        reasons=reasons,
        embeddings=details.get("embeddings"),
    )
