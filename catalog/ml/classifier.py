"""A product's leaf category from its photo and title, with calibrated confidence.

A small residual CNN of separable convolutions reads the photo (augmented inside the
model while training: flips, zoom/crop, colour jitter); the title is turned into a bag
of words and word pairs by `TextVectorization` inside the model and embedded. Both are
concatenated and classified with a class-weighted cross-entropy, plus auxiliary heads
on the image alone and the title alone. While training, whole titles are hidden at
random, so the photo still classifies a product whose title says nothing (a SKU, a
typo, another language). The learning rate follows a cosine decay; confidences are
temperature-scaled on validation data. The image branch's output, L2-normalised, is
the product's image embedding ("visually similar" lists, the recommender's cold start).
"""

import io
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import keras
import numpy as np
from keras import layers, ops

from mlops.ml.progress import Progress
from mlops.ml.training import fit_with_early_stopping

from .calibration import apply_temperature, fit_temperature
from .similarity import unit_rows
from .text import PUNCTUATION, words  # noqa: F401 - PUNCTUATION read from here

NO_WORDS = "<no title words>"  # stands in for an empty vocabulary
PREDICT_BATCH = 512
EMBEDDING = "image_embedding"  # the image branch's output layer


@dataclass(frozen=True)
class ClassifierConfig:
    image_size: int = 80
    widths: tuple[int, ...] = (48, 96, 192)  # one residual block each, halving size
    embedding_dim: int = 128
    title_dim: int = 64
    min_word_count: int = 2  # words in fewer training titles are unknown
    max_words: int = 20_000
    title_dropout: float = 0.3  # share of training titles hidden from the model
    dropout: float = 0.3
    # 0.99 left the moving statistics far from the batches' after a few hundred
    # steps: the image head scored 0.05 in inference against 0.82 in training mode.
    batch_norm_momentum: float = 0.9
    zoom: float = 0.15
    colour_jitter: float = 0.15
    epochs: int = 24
    batch_size: int = 64
    patience: int = 8
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    class_weight_power: float = 0.5  # 0: none, 1: fully balanced classes
    validation_fraction: float = 0.1  # used when fit() gets no validation set


class TitleDropout(layers.Layer):
    """Zero whole rows (titles) at random while training."""

    def __init__(self, rate: float, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=None):
        if not training or self.rate <= 0:
            return x
        keep = keras.random.uniform((ops.shape(x)[0], 1), seed=self.seed_generator)
        return x * ops.cast(keep >= self.rate, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


class ProductClassifier:
    """Classify products into leaf categories from their photo and/or title."""

    name = "image-title"

    def __init__(
        self,
        config: ClassifierConfig | None = None,
        *,
        use_image: bool = True,
        use_title: bool = True,
        seed: int = 0,
        progress: Callable[[float, str], None] | None = None,
        log: Callable[[str], None] | None = None,
    ):
        if not (use_image or use_title):
            raise ValueError("A classifier needs the image, the title or both.")
        self.config = config or ClassifierConfig()
        self.use_image = use_image
        self.use_title = use_title
        self.seed = seed
        self.progress = progress
        self.log = log
        self.n_classes = 0
        self.vocabulary: list[str] = []
        self.temperature = 1.0
        self.image_temperature = 1.0  # of the image head, for titles with no known word
        self.epochs_run = 0
        self.training_seconds = 0.0
        self._model: keras.Model | None = None
        self._encoder: keras.Model | None = None  # image in, embedding out
        self._with_embedding: keras.Model | None = None  # every head and embedding

    # Training ---------------------------------------------------------------------

    def fit(
        self,
        images: np.ndarray | None,
        titles: Sequence[str] | None,
        labels: np.ndarray,
        n_classes: int,
        *,
        validation: tuple | None = None,
    ) -> "ProductClassifier":
        """Train on labelled products; `validation` = (images, titles, labels).

        Validation data stops training early and calibrates the confidences; without
        it, `config.validation_fraction` of the training rows is held out.
        """
        started = time.monotonic()
        keras.utils.set_random_seed(self.seed)
        labels = np.asarray(labels, dtype=np.int64)
        if len(labels) == 0 or labels.min() < 0 or labels.max() >= n_classes:
            raise ValueError(f"Labels must be class indices in [0, {n_classes}).")
        train = (images, titles, labels)
        if validation is None:
            train, validation = self._hold_out(images, titles, labels)
        self.n_classes = n_classes
        self.vocabulary = (
            frequent_words(train[1], self.config.min_word_count, self.config.max_words)
            if self.use_title
            else []
        )
        steps = -(-len(train[2]) // self.config.batch_size) * self.config.epochs
        self._model = self._build(decay_steps=steps)
        self._encoder = self._with_embedding = None
        self._report(0.0, "model built")
        result = fit_with_early_stopping(
            self._model,
            self._inputs(train[0], train[1]),
            self._targets(train[2]),
            validation_data=(
                self._inputs(validation[0], validation[1]),
                self._targets(validation[2]),
            ),
            epochs=self.config.epochs,
            batch_size=self.config.batch_size,
            patience=self.config.patience,
            seed=self.seed,
            progress=self._epoch_sink(),
            sample_weight=class_weights(
                train[2], n_classes, self.config.class_weight_power
            ),
        )
        self.epochs_run = result.epochs_run
        outputs = self._outputs(validation[0], validation[1])
        self.temperature = fit_temperature(outputs["logits"], validation[2])
        if "image_logits" in outputs:
            self.image_temperature = fit_temperature(
                outputs["image_logits"], validation[2]
            )
        self.training_seconds = time.monotonic() - started
        self._say(
            f"{self.name}: {result.epochs_run} epochs (best {result.best_epoch}, "
            f"val loss {result.best_val_loss:.4f}), temperature "
            f"{self.temperature:.3f}, {self.training_seconds:.0f} s"
        )
        self._report(1.0, "trained and calibrated")
        return self

    def _hold_out(self, images, titles, labels):
        order = np.random.default_rng(self.seed).permutation(len(labels))
        n_val = max(1, int(round(len(labels) * self.config.validation_fraction)))
        if n_val >= len(labels):
            raise ValueError("Too few products to hold some out for validation.")

        def take(rows):
            return (
                None if images is None else np.asarray(images)[rows],
                None if titles is None else [titles[i] for i in rows],
                labels[rows],
            )

        return take(order[n_val:]), take(order[:n_val])

    # Prediction -------------------------------------------------------------------

    def predict_proba(self, images, titles) -> np.ndarray:
        """Return calibrated class probabilities, [n, n_classes].

        A product whose title has no word the model knows (a SKU, say) is
        classified by the image head, trained on the photo alone.
        """
        return self._calibrated(self._outputs(images, titles), titles)

    def predict_with_embeddings(self, images, titles) -> tuple[np.ndarray, np.ndarray]:
        """Return calibrated probabilities and the images' embeddings, in one pass.

        The embeddings are those of `embed`: L2-normalised, [n, embedding_dim].
        """
        if not self.use_image:
            raise ValueError("This classifier does not read images.")
        outputs = dict(self._outputs(images, titles, with_embedding=True))
        embeddings = unit_rows(outputs.pop(EMBEDDING))
        return self._calibrated(outputs, titles), embeddings

    def _calibrated(self, outputs: dict, titles) -> np.ndarray:
        proba = apply_temperature(outputs["logits"], self.temperature)
        if "image_logits" in outputs:
            vocabulary = set(self.vocabulary)
            silent = np.array([vocabulary.isdisjoint(words(str(t))) for t in titles])
            if silent.any():
                proba[silent] = apply_temperature(
                    outputs["image_logits"][silent], self.image_temperature
                )
        return proba

    def embed(self, images) -> np.ndarray:
        """Return L2-normalised image embeddings, [n, embedding_dim].

        The embedding is the image branch's pooled features projected to
        `config.embedding_dim`, before they meet the title.
        """
        if not self.use_image:
            raise ValueError("This classifier does not read images.")
        if self._model is None:
            raise ValueError("The classifier has not been trained.")
        images = np.asarray(images, dtype=np.uint8)
        if len(images) == 0:
            return np.zeros((0, self.config.embedding_dim), dtype=np.float32)
        if self._encoder is None:
            self._encoder = keras.Model(
                self._model.get_layer("image").output,
                self._model.get_layer(EMBEDDING).output,
            )
        vectors = self._encoder.predict(images, batch_size=PREDICT_BATCH, verbose=0)
        return unit_rows(vectors)

    def _outputs(
        self, images, titles, *, with_embedding: bool = False
    ) -> dict[str, np.ndarray]:
        """Return the logits of every head of the network, by output name.

        With `with_embedding`, the image embedding (not normalised) comes too.
        """
        if self._model is None:
            raise ValueError("The classifier has not been trained.")
        model = self._model
        if with_embedding:
            if self._with_embedding is None:
                self._with_embedding = keras.Model(
                    self._model.input,
                    {
                        **self._model.output,
                        EMBEDDING: self._model.get_layer(EMBEDDING).output,
                    },
                )
            model = self._with_embedding
        n = len(images) if images is not None else len(titles)
        if n == 0:
            empty = {name: np.zeros((0, self.n_classes)) for name in self._model.output}
            if with_embedding:
                empty[EMBEDDING] = np.zeros((0, self.config.embedding_dim))
            return empty
        return model.predict(
            self._inputs(images, titles), batch_size=PREDICT_BATCH, verbose=0
        )

    def _targets(self, labels) -> dict:
        return {name: np.asarray(labels) for name in self._model.output}

    def _inputs(self, images, titles) -> dict:
        inputs = {}
        if self.use_image:
            if images is None:
                raise ValueError("This classifier needs the product images.")
            inputs["image"] = np.asarray(images, dtype=np.uint8)
        if self.use_title:
            if titles is None:
                raise ValueError("This classifier needs the product titles.")
            inputs["title"] = np.asarray([str(t) for t in titles], dtype=object)
        return inputs

    # Description and persistence --------------------------------------------------

    def hyperparameters(self) -> dict:
        """Return what defines this model, for the registry."""
        return {
            **asdict(self.config),
            "use_image": self.use_image,
            "use_title": self.use_title,
            "seed": self.seed,
            "n_classes": self.n_classes,
            "vocabulary_size": len(self.vocabulary),
            "temperature": self.temperature,
            "image_temperature": self.image_temperature,
            "epochs_run": self.epochs_run,
        }

    def to_bytes(self) -> bytes:
        """Return the trained model as bytes (NumPy archive, no pickled code)."""
        if self._model is None:
            raise ValueError("The classifier has not been trained.")
        weights = self._model.get_weights()
        meta = {
            "config": asdict(self.config),
            "use_image": self.use_image,
            "use_title": self.use_title,
            "seed": self.seed,
            "n_classes": self.n_classes,
            "temperature": self.temperature,
            "image_temperature": self.image_temperature,
            "epochs_run": self.epochs_run,
            "n_weights": len(weights),
        }
        buffer = io.BytesIO()
        np.savez(
            buffer,
            meta=np.asarray(json.dumps(meta)),
            vocabulary=np.asarray(self.vocabulary, dtype=str),
            **{f"weight_{i}": w for i, w in enumerate(weights)},
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "ProductClassifier":
        """Return the classifier that `to_bytes` wrote."""
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            meta = json.loads(str(arrays["meta"]))
            config = meta["config"]
            config["widths"] = tuple(config["widths"])
            model = cls(
                ClassifierConfig(**config),
                use_image=meta["use_image"],
                use_title=meta["use_title"],
                seed=meta["seed"],
            )
            model.n_classes = meta["n_classes"]
            model.temperature = meta["temperature"]
            model.image_temperature = meta["image_temperature"]
            model.epochs_run = meta["epochs_run"]
            model.vocabulary = [str(word) for word in arrays["vocabulary"]]
            model._model = model._build()
            model._model.set_weights(
                [arrays[f"weight_{i}"] for i in range(meta["n_weights"])]
            )
        return model

    # Network ----------------------------------------------------------------------

    def _build(self, decay_steps: int = 1) -> keras.Model:
        """Return the compiled network; its learning rate decays over `decay_steps`.

        With both inputs, extra heads classify from the image alone and from the
        title alone, their losses added: each branch then learns from every
        product rather than leaning on the other, and the photo alone is strong
        enough to carry a product whose title says nothing.
        """
        c = self.config
        inputs, features, outputs = {}, [], {}
        if self.use_image:
            inputs["image"] = keras.Input((c.image_size, c.image_size, 3), name="image")
            features.append(image_branch(inputs["image"], c, self.seed))
        if self.use_title:
            inputs["title"] = keras.Input((), dtype="string", name="title")
            features.append(
                title_branch(
                    inputs["title"],
                    self.vocabulary,
                    c,
                    self.seed,
                    hide_titles=self.use_image,
                )
            )
        if len(features) == 2:
            for branch, feature in zip(("image", "title"), features, strict=True):
                outputs[f"{branch}_logits"] = layers.Dense(
                    self.n_classes, name=f"{branch}_logits"
                )(layers.Dropout(c.dropout, seed=self.seed)(feature))
        x = features[0] if len(features) == 1 else layers.Concatenate()(features)
        x = layers.Dropout(c.dropout, seed=self.seed)(x)
        outputs["logits"] = layers.Dense(self.n_classes, name="logits")(x)
        model = keras.Model(inputs, outputs, name="product_classifier")
        schedule = keras.optimizers.schedules.CosineDecay(
            c.learning_rate, max(decay_steps, 1), alpha=0.02
        )
        model.compile(
            optimizer=keras.optimizers.AdamW(schedule, weight_decay=c.weight_decay),
            loss={
                name: keras.losses.SparseCategoricalCrossentropy(from_logits=True)
                for name in outputs
            },
            metrics={"logits": ["accuracy"]},
        )
        return model

    def _epoch_sink(self):
        def sink(progress: Progress) -> None:
            self._report(0.95 * progress.percent / 100, progress.message)

        return sink

    def _report(self, fraction: float, message: str) -> None:
        if self.progress is not None:
            self.progress(fraction, message)

    def _say(self, message: str) -> None:
        if self.log is not None:
            self.log(message)


def image_branch(image, c: ClassifierConfig, seed: int):
    """Return the image embedding: augmentation, residual separable CNN, pooling."""
    x = layers.RandomFlip("horizontal", seed=seed)(image)
    x = layers.RandomZoom(
        (-c.zoom, c.zoom), fill_mode="constant", fill_value=255.0, seed=seed
    )(x)
    x = layers.RandomBrightness(c.colour_jitter, value_range=(0, 255), seed=seed)(x)
    x = layers.RandomContrast(c.colour_jitter, value_range=(0, 255), seed=seed)(x)
    x = layers.Rescaling(1 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(c.widths[0] // 2, 3, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=c.batch_norm_momentum)(x)
    x = layers.Activation("relu")(x)
    for width in c.widths:
        shortcut = layers.Conv2D(width, 1, strides=2, padding="same")(x)
        for _ in range(2):
            x = layers.SeparableConv2D(width, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=c.batch_norm_momentum)(x)
            x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        x = layers.Add()([x, shortcut])
    x = layers.GlobalAveragePooling2D()(x)
    return layers.Dense(c.embedding_dim, name=EMBEDDING)(x)


def title_branch(title, vocabulary, c: ClassifierConfig, seed: int, hide_titles: bool):
    """Return the title embedding: bag of words and word pairs, embedded."""
    bag = layers.TextVectorization(
        vocabulary=vocabulary or [NO_WORDS],
        ngrams=2,
        output_mode="multi_hot",
        name="title_words",
    )(title)
    # Unknown words (column 0) carry nothing: a title of only unknown words, like a
    # SKU, then looks exactly like a title hidden in training.
    x = layers.Lambda(lambda bag: bag[:, 1:], name="known_words")(bag)
    if hide_titles and c.title_dropout > 0:
        x = TitleDropout(c.title_dropout, seed=seed)(x)
    return layers.Dense(c.title_dim, activation="relu", name="title_embedding")(x)


def frequent_words(titles: Sequence[str], min_count: int, max_words: int) -> list[str]:
    """Return words and pairs found in at least `min_count` titles, commonest first."""
    counts = Counter(word for title in titles for word in set(words(str(title))))
    ranked = sorted(
        (word for word, count in counts.items() if count >= min_count),
        key=lambda word: (-counts[word], word),
    )
    return ranked[:max_words]


def class_weights(labels: np.ndarray, n_classes: int, power: float) -> np.ndarray:
    """Return per-row weights (mean 1) that lift rare classes by (1/frequency)^power."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    per_class = np.where(counts > 0, (counts.max() / np.maximum(counts, 1)) ** power, 0)
    weights = per_class[labels]
    return (weights / weights.mean()).astype(np.float32)
