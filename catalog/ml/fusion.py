"""Late fusion: the image+title network with a TF-IDF title model beside it.

The network reads the photo and the title's words; the TF-IDF logistic regression
reads the title's words and characters (typos, plurals, glued words), which a small
network trained on a few thousand titles learns less well. Their calibrated
log-probabilities are averaged with a weight chosen on validation data (the one
that minimises the negative log-likelihood there), and the mix is temperature-scaled
on the same data. A product whose title has no word the network knows (a SKU, say)
is classified from its picture alone: characters of a SKU say nothing.

A third, optional expert is a picture-only model of hand-made colour, texture and
outline features (`ml.image_features`), which learns from ten pictures a category
where the network cannot. Three weights chosen on a small validation set overfit it,
so they are chosen in two steps. First the share of the two cheap models, TF-IDF and
image features, on their out-of-fold predictions for the training rows (k-fold
cross-validation) together with the validation rows; then the network's weight
against that pair, on the validation rows, as without it. A title the network cannot
read is left to the network and the image features, in proportion. With weight 0
the image features are never computed.

A product whose name has no word seen in training (a code of any shape, no name,
another language) is classified by the picture path: the network's image head and
the image-features model, mixed with a weight and temperature of their own chosen on
the validation pictures with their names hidden (`fit_picture`), so that the mix
that serves such products is the one measured on them.
"""

import io
import json
import warnings
from collections.abc import Sequence

import numpy as np
from scipy.special import log_softmax
from sklearn.model_selection import StratifiedKFold

from .baselines import TitleOnly
from .calibration import apply_temperature, fit_temperature, negative_log_likelihood
from .classifier import ProductClassifier, words
from .image_features import ImageFeatures, image_features

WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 2)  # of the network, on validation
FOLDS = 4  # cross-validation of the TF-IDF and image-features models


class ImageTitleTfidf:
    """The image+title network's probabilities fused with a TF-IDF title model's."""

    name = "image+title+tfidf"
    use_image = True
    use_title = True

    def __init__(
        self,
        network: ProductClassifier | None = None,
        title_model: TitleOnly | None = None,
        image_model: ImageFeatures | None = None,
        *,
        seed: int = 0,
    ):
        self.network = network
        self.title_model = title_model
        self.image_model = image_model
        if image_model is not None:
            self.name = f"{ImageTitleTfidf.name}+features"
        self.seed = seed
        self.weight = 1.0  # of the network
        self.image_weight = 0.0  # of the image-features model; the rest: TF-IDF
        self.temperature = 1.0
        self.features_share = 0.0  # of the image features against TF-IDF
        self.picture_weight = 1.0  # of the network's image head, names hidden
        self.picture_temperature = 1.0
        self.validation_nll: dict[float, float] = {}  # by network weight
        self.share_nll: dict[float, float] = {}  # by features share, out of fold

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
        models = [self.network, self.title_model]
        if self.image_model is not None:
            models.append(self.image_model)
        for model in models:
            model.fit(images, titles, labels, n_classes, validation=validation)
        out_of_fold = None
        if self.image_model is not None:
            out_of_fold = self.cross_validate(images, titles, labels, n_classes)
        self.fit_weight(*validation, out_of_fold=out_of_fold)
        return self.fit_picture(validation[0], validation[2])

    def cross_validate(self, images, titles, labels, n_classes: int) -> tuple | None:
        """Return out-of-fold (TF-IDF, image-features) log-probabilities and labels.

        Each fold's models are fitted like the trained ones on the other folds and
        scaled by the trained ones' temperatures (set on validation data). None
        where no category has two rows to split.
        """
        labels = np.asarray(labels, dtype=np.int64)
        n_folds = min(FOLDS, int(np.bincount(labels).max(initial=0)))
        if n_folds < 2:
            return None
        titles = [str(t) for t in titles]
        features = image_features(images)
        tfidf = np.zeros((len(labels), n_classes))
        pictures = np.zeros((len(labels), n_classes))
        folds = StratifiedKFold(n_folds, shuffle=True, random_state=self.seed)
        with warnings.catch_warnings():  # classes rarer than FOLDS
            warnings.simplefilter("ignore", UserWarning)
            splits = list(folds.split(np.zeros(len(labels)), labels))
        if any(len(np.unique(labels[learn])) < 2 for learn, _ in splits):
            return None  # a fold would learn a single category
        for learn, held in splits:
            title_model = TitleOnly(c=self.title_model.c, seed=self.seed)
            title_model.fit(None, [titles[i] for i in learn], labels[learn], n_classes)
            tfidf[held] = title_model._logits([titles[i] for i in held])
            image_model = ImageFeatures(seed=self.seed)
            image_model.fit_features(features[learn], labels[learn], n_classes)
            pictures[held] = image_model.features_logits(features[held])
        return (
            log_softmax(tfidf / self.title_model.temperature, axis=1),
            log_softmax(pictures / self.image_model.temperature, axis=1),
            labels,
        )

    def fit_weight(
        self, images, titles, labels, *, out_of_fold: tuple | None = None
    ) -> "ImageTitleTfidf":
        """Choose the models' weights and the temperature on validation data.

        With the image-features model, its share against the TF-IDF model is chosen
        first, on the validation rows and `out_of_fold` (`cross_validate`'s result
        for the training rows) together; then the network's weight.
        """
        labels = np.asarray(labels, dtype=np.int64)
        parts = self._log_probabilities(self.network.predict_proba(images, titles))
        tfidf = self._tfidf_log_probabilities(titles)
        pictures = None
        self.features_share, self.share_nll = 0.0, {}
        if self.image_model is not None:
            pictures = self._image_log_probabilities(images)
            self._fit_share(tfidf, pictures, labels, out_of_fold)
        silent = self._silent(titles)

        def mixed(weight: float) -> np.ndarray:
            image_weight = (1 - weight) * self.features_share
            return self._mix(parts, tfidf, silent, weight, pictures, image_weight)

        self.validation_nll, self.weight, self.temperature = _lowest_nll(mixed, labels)
        self.image_weight = (1 - self.weight) * self.features_share
        return self

    def _fit_share(self, tfidf, pictures, labels, out_of_fold) -> None:
        """Choose the image features' share against TF-IDF (lowest NLL)."""
        if out_of_fold is not None:
            tfidf = np.vstack([out_of_fold[0], tfidf])
            pictures = np.vstack([out_of_fold[1], pictures])
            labels = np.concatenate([np.asarray(out_of_fold[2]), labels])
        self.share_nll, self.features_share, _ = _lowest_nll(
            lambda share: share * pictures + (1 - share) * tfidf, labels
        )

    def fit_picture(self, images, labels, features=None) -> "ImageTitleTfidf":
        """Choose the picture path's mix and temperature on validation pictures
        classified without their names (`features`: their image features)."""
        labels = np.asarray(labels, dtype=np.int64)
        network = self._log_probabilities(
            self.network.predict_proba(images, [""] * len(labels))
        )
        if self.image_model is None:
            self.picture_weight = 1.0
            self.picture_temperature = fit_temperature(network, labels)
            return self
        pictures = self._picture_log_probabilities(images, features)
        _, self.picture_weight, self.picture_temperature = _lowest_nll(
            lambda w: w * network + (1 - w) * pictures, labels
        )
        return self

    # Prediction -------------------------------------------------------------------

    def picture_proba(self, images, features=None) -> np.ndarray:
        """Return the image-features model's calibrated probabilities (the picture
        expert the review rules compare with), or None without it."""
        if self.image_model is None:
            return None
        return np.exp(self._picture_log_probabilities(images, features))

    def predict_details(self, images, titles, *, with_embeddings=False) -> dict:
        """Return `proba`, `silent` (names with no known word: classified from the
        picture), `pictures` (the image-features model's probabilities), `features`
        (the image features) and, with `with_embeddings`, `embeddings`."""
        details = {}
        if with_embeddings:
            network, details["embeddings"] = self.network.predict_with_embeddings(
                images, titles
            )
        else:
            network = self.network.predict_proba(images, titles)
        features = None
        if self.image_model is not None and len(network):
            features = image_features(images)
        details["features"] = features
        details["silent"] = self._silent(titles)
        details["proba"] = self._fused(network, images, titles, features)
        details["pictures"] = (
            self.picture_proba(images, features) if features is not None else None
        )
        return details

    def embed(self, images) -> np.ndarray:
        return self.network.embed(images)

    def predict_proba(self, images, titles) -> np.ndarray:
        """Return calibrated class probabilities, [n, n_classes]."""
        return self._fused(self.network.predict_proba(images, titles), images, titles)

    def predict_with_embeddings(self, images, titles) -> tuple[np.ndarray, np.ndarray]:
        """Return calibrated probabilities and the network's image embeddings."""
        proba, embeddings = self.network.predict_with_embeddings(images, titles)
        return self._fused(proba, images, titles), embeddings

    def _fused(
        self, network_proba: np.ndarray, images, titles, features=None
    ) -> np.ndarray:
        if len(network_proba) == 0:
            return network_proba
        network = self._log_probabilities(network_proba)
        silent = self._silent(titles)
        pictures = None
        if self.image_model is not None and (self.image_weight > 0 or silent.any()):
            pictures = self._picture_log_probabilities(images, features)
        logits = self._mix(
            network,
            self._tfidf_log_probabilities(titles),
            np.zeros(len(silent), dtype=bool),
            self.weight,
            pictures if self.image_weight > 0 else None,
            self.image_weight,
        )
        proba = apply_temperature(logits, self.temperature)
        if silent.any():
            picture_logits = network[silent] * self.picture_weight
            if pictures is not None:
                picture_logits += (1 - self.picture_weight) * pictures[silent]
            proba[silent] = apply_temperature(picture_logits, self.picture_temperature)
        return proba

    @staticmethod
    def _mix(
        network, tfidf, silent, weight: float, pictures=None, image_weight=0.0
    ) -> np.ndarray:
        if pictures is None or image_weight <= 0:
            mixed = weight * network + (1 - weight) * tfidf
            mixed[silent] = network[silent]
            return mixed
        mixed = weight * network + image_weight * pictures
        mixed += (1 - weight - image_weight) * tfidf
        share = image_weight / (weight + image_weight)
        mixed[silent] = (1 - share) * network[silent] + share * pictures[silent]
        return mixed

    @staticmethod
    def _log_probabilities(proba: np.ndarray) -> np.ndarray:
        return np.log(np.clip(proba, 1e-12, 1.0))

    def _tfidf_log_probabilities(self, titles) -> np.ndarray:
        titles = [str(t) for t in titles]
        return log_softmax(
            self.title_model._logits(titles) / self.title_model.temperature, axis=1
        )

    def _image_log_probabilities(self, images) -> np.ndarray:
        return self._picture_log_probabilities(images)

    def _picture_log_probabilities(self, images, features=None) -> np.ndarray:
        """The image-features model's calibrated log-probabilities."""
        if features is None:
            logits = self.image_model.logits(images)
        else:
            logits = self.image_model.features_logits(features)
        return log_softmax(logits / self.image_model.temperature, axis=1)

    def _silent(self, titles) -> np.ndarray:
        """Return which titles have no word the network knows (SKUs, say)."""
        vocabulary = set(self.network.vocabulary)
        return np.array(
            [vocabulary.isdisjoint(words(str(t))) for t in titles], dtype=bool
        )

    # Description and persistence --------------------------------------------------

    def hyperparameters(self) -> dict:
        found = {
            **self.network.hyperparameters(),
            "tfidf_c": self.title_model.c,
            "tfidf_temperature": self.title_model.temperature,
            "network_weight": self.weight,
            "fusion_temperature": self.temperature,
            "picture_network_weight": self.picture_weight,
            "picture_temperature": self.picture_temperature,
        }
        if self.image_model is not None:
            for name, value in self.image_model.hyperparameters().items():
                found[f"image_features_{name}"] = value
            found["image_features_weight"] = self.image_weight
            found["image_features_share"] = self.features_share
        return found

    def to_bytes(self) -> bytes:
        """Return both models and the fusion's weight as one NumPy archive."""
        buffer = io.BytesIO()
        extra = {}
        if self.image_model is not None:
            extra["image_model"] = np.frombuffer(
                self.image_model.to_bytes(), dtype=np.uint8
            )
        np.savez(
            buffer,
            meta=np.asarray(
                json.dumps(
                    {
                        "seed": self.seed,
                        "weight": self.weight,
                        "image_weight": self.image_weight,
                        "features_share": self.features_share,
                        "temperature": self.temperature,
                        "picture_weight": self.picture_weight,
                        "picture_temperature": self.picture_temperature,
                        "validation_nll": self.validation_nll,
                        "share_nll": self.share_nll,
                    }
                )
            ),
            network=np.frombuffer(self.network.to_bytes(), dtype=np.uint8),
            title_model=np.frombuffer(self.title_model.to_bytes(), dtype=np.uint8),
            **extra,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "ImageTitleTfidf":
        """Return the fused model that `to_bytes` wrote."""
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            meta = json.loads(str(arrays["meta"]))
            image_model = None
            if "image_model" in arrays.files:
                image_model = ImageFeatures.from_bytes(arrays["image_model"].tobytes())
            model = cls(
                ProductClassifier.from_bytes(arrays["network"].tobytes()),
                TitleOnly.from_bytes(arrays["title_model"].tobytes()),
                image_model,
                seed=meta["seed"],
            )
        model.weight = float(meta["weight"])
        model.image_weight = float(meta.get("image_weight", 0.0))
        model.features_share = float(meta.get("features_share", 0.0))
        model.temperature = float(meta["temperature"])
        model.picture_weight = float(meta.get("picture_weight", 1.0))
        model.picture_temperature = float(meta.get("picture_temperature", 1.0))
        model.validation_nll = {float(k): v for k, v in meta["validation_nll"].items()}
        model.share_nll = {float(k): v for k, v in meta.get("share_nll", {}).items()}
        return model


def _lowest_nll(logits_of, labels) -> tuple[dict[float, float], float, float]:
    """Try each of WEIGHTS: return the validation NLL by weight (each mix
    temperature-scaled), the weight with the lowest and its temperature."""
    by_weight, best = {}, None
    for weight in map(float, WEIGHTS):
        logits = logits_of(weight)
        temperature = fit_temperature(logits, labels)
        nll = negative_log_likelihood(apply_temperature(logits, temperature), labels)
        by_weight[weight] = round(nll, 6)
        if best is None or nll < best[0] - 1e-9:
            best = (nll, weight, temperature)
    return by_weight, best[1], best[2]
