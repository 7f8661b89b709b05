"""The `image` model kind: leaf categories from a product's photo and title.

Training learns from products whose category a person set, confirmed or imported
(`catalog.categorisation.training_examples`), split per category into training,
validation and test sets. The image+title network and the baselines (the majority
class, a title-only TF-IDF model) are fitted on the training set. The candidate
model, `image+title+tfidf+features`, is the network with the TF-IDF model and a
picture-only model of colour, texture and outline features (`ml.image_features`,
which learns from a few pictures a category where the network cannot) beside it:
their log-probabilities averaged with weights chosen on the validation set
(`ml.fusion`). Each candidate's confidence thresholds are chosen on the validation
set to reach the target precision (`CATEGORY_TARGET_PRECISION`, default 95%), and
everything is measured on the test set: accuracy, macro-F1, the share auto-assigned
and its realised precision, parent accuracy, per-category precision and recall (the
network and the image-features model alone are measured too, in the protocol's
`components`). The registry serves the most accurate.

Inference classifies every product with a picture whose category no person set; the
served model's `classify(products)` is also what the upload task calls. Both store
each product's image embedding (every product with a picture, filed by a person or
not), and once a batch is complete every product's "visually similar" list is
recomputed from them.
"""

import io
import json
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage

from mlops.kinds import Candidate, RunRefused, TrainContext, TrainingOutcome
from mlops.ml.progress import ProgressTracker
from mlops.models import ModelKind, ModelVersion, ServedBatch

from .categorisation import (
    apply_predictions_bulk,
    first_image_path,
    image_embeddings_prune,
    image_embeddings_store,
    predictions_from_proba,
    training_examples,
    visually_similar_refresh,
)
from .ml.baselines import MajorityClass, TitleOnly
from .ml.images import decode_many
from .ml.metrics import classification_report
from .ml.policy import thresholds_for_precision
from .models import Category, Product, ProductImageEmbedding

MIN_EXAMPLES = 20
SPLIT = (0.7, 0.15, 0.15)
MIN_PER_CLASS_TO_TEST = 3  # rarer categories are only learnt from, not measured
CLASSIFIER_OPTIONS = ("image_size", "epochs", "batch_size", "patience", "widths")


def classifier_classes() -> dict[str, type]:
    from .ml.classifier import ProductClassifier
    from .ml.fusion import ImageTitleTfidf

    return {
        c.__name__: c
        for c in (ImageTitleTfidf, ProductClassifier, MajorityClass, TitleOnly)
    }


def read_pictures(names: list[str], size: int) -> np.ndarray:
    """Decode the stored pictures named (storage names) to [n, size, size, 3]."""

    def content(name: str) -> bytes:
        with default_storage.open(name, "rb") as stored:
            return stored.read()

    return decode_many((content(name) for name in names), size)


@dataclass
class ServedClassifier:
    """A loaded categoriser with its classes and auto-assign thresholds."""

    algorithm: str
    model: object
    class_category_ids: np.ndarray
    thresholds: np.ndarray
    image_size: int
    uses_image: bool
    embedder: object | None = None  # the image network, where a baseline serves

    @property
    def network(self):
        """Return the model that gives image embeddings, or None."""
        if self.uses_image and hasattr(self.model, "predict_with_embeddings"):
            return self.model
        return self.embedder

    @property
    def embeds(self) -> bool:
        return self.network is not None

    def proba(self, products: list[Product]) -> np.ndarray:
        return self._read(products)[0]

    def _read(self, products: list[Product]) -> tuple[np.ndarray, np.ndarray | None]:
        """Return probabilities and image embeddings (None without a network)."""
        network = self.network
        pictures = self.uses_image or network is not None
        names = [p.image_name for p in products] if pictures else []
        images = read_pictures(names, self.image_size) if pictures else None
        titles = [p.name for p in products]
        if network is self.model:
            return self.model.predict_with_embeddings(images, titles)
        proba = self.model.predict_proba(images if self.uses_image else None, titles)
        return proba, None if network is None else network.embed(images)

    def classify(self, products, version: ModelVersion | None = None) -> int:
        """Predict and apply (auto-assign or queue) each product's category.

        Where the model gives image embeddings, each product's is stored too.
        """
        products = with_pictures(products)
        if not products:
            return 0
        version = version or image_champion()
        proba, embeddings = self._read(products)
        predictions = predictions_from_proba(
            [p.pk for p in products],
            proba,
            self.class_category_ids.tolist(),
            self.thresholds.tolist(),
        )
        apply_predictions_bulk(predictions, version=version)
        if embeddings is not None and version is not None:
            image_embeddings_store(
                [p.pk for p in products], embeddings, version=version
            )
        return len(products)

    def embed_products(self, products, version: ModelVersion | None = None) -> int:
        """Store the image embeddings of products (their categories untouched)."""
        version = version or image_champion()
        if not self.embeds or version is None:
            return 0
        products = with_pictures(products)
        if not products:
            return 0
        images = read_pictures([p.image_name for p in products], self.image_size)
        return image_embeddings_store(
            [p.pk for p in products], self.network.embed(images), version=version
        )


def with_pictures(products) -> list[Product]:
    """Return the products that have a picture, by id, with `image_name` (its file)."""
    return list(
        Product.objects.filter(pk__in=[p.pk for p in products])
        .annotate(image_name=first_image_path())
        .filter(image_name__isnull=False)
        .order_by("pk")
    )


def image_champion() -> ModelVersion | None:
    return ModelVersion.objects.filter(
        kind=ModelKind.IMAGE, status=ModelVersion.Status.CHAMPION
    ).first()


def artifact_bytes(
    model, *, class_category_ids, thresholds, image_size, embedder=None
) -> bytes:
    """Return the servable artifact; `embedder` (the image network) rides along with
    a baseline, so that pictures are embedded whichever model serves."""
    buffer = io.BytesIO()
    extra = {}
    if embedder is not None and embedder is not model:
        extra["embedder"] = np.frombuffer(embedder.to_bytes(), dtype=np.uint8)
    np.savez(
        buffer,
        model_class=np.asarray(type(model).__name__),
        model=np.frombuffer(model.to_bytes(), dtype=np.uint8),
        class_category_ids=np.asarray(class_category_ids, dtype=np.int64),
        thresholds=np.asarray(thresholds, dtype=np.float64),
        meta=np.asarray(json.dumps({"image_size": image_size})),
        **extra,
    )
    return buffer.getvalue()


@dataclass
class Examples:
    """The labelled products as arrays, split into training, validation and test."""

    titles: list[str]
    image_names: list[str]
    labels: np.ndarray
    class_category_ids: np.ndarray
    parent_of: np.ndarray
    class_paths: list[str]
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def labelled_examples(seed: int) -> Examples:
    rows = list(training_examples())
    if len(rows) < MIN_EXAMPLES:
        raise RunRefused(
            f"Not enough categorised products with a picture: {len(rows)}; at least "
            f"{MIN_EXAMPLES} whose category a person set or imported are needed."
        )
    class_ids = np.array(sorted({r["category_id"] for r in rows}), dtype=np.int64)
    categories = Category.objects.in_bulk(class_ids.tolist())
    parents = sorted({categories[pk].parent_id or pk for pk in class_ids.tolist()})
    parent_of = np.array(
        [parents.index(categories[pk].parent_id or pk) for pk in class_ids.tolist()]
    )
    labels = np.searchsorted(class_ids, [r["category_id"] for r in rows])
    train, validation, test = stratified_split(labels, seed)
    if len(validation) == 0 or len(test) == 0:
        raise RunRefused(
            "Not enough categorised products to hold some out: each category needs "
            f"{MIN_PER_CLASS_TO_TEST} or more to be measured."
        )
    return Examples(
        titles=[r["title"] for r in rows],
        image_names=[r["image_path"] for r in rows],
        labels=labels,
        class_category_ids=class_ids,
        parent_of=parent_of,
        class_paths=[categories[pk].path for pk in class_ids.tolist()],
        train=train,
        validation=validation,
        test=test,
    )


def stratified_split(labels: np.ndarray, seed: int):
    """Split indices per class 70/15/15; classes with under 3 examples train only."""
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        if len(rows) < MIN_PER_CLASS_TO_TEST:
            parts[0].extend(rows.tolist())
            continue
        n_val = max(1, round(len(rows) * SPLIT[1]))
        n_test = max(1, round(len(rows) * SPLIT[2]))
        parts[1].extend(rows[:n_val].tolist())
        parts[2].extend(rows[n_val : n_val + n_test].tolist())
        parts[0].extend(rows[n_val + n_test :].tolist())
    return tuple(np.array(sorted(p), dtype=np.int64) for p in parts)


class ImageKind:
    kind = ModelKind.IMAGE
    primary_metric = "accuracy"
    higher_is_better = True

    # --- training ---------------------------------------------------------------
    def train(self, context: TrainContext) -> TrainingOutcome:
        from .ml.classifier import ClassifierConfig, ProductClassifier
        from .ml.fusion import ImageTitleTfidf
        from .ml.image_features import ImageFeatures

        options = context.options
        tracker = ProgressTracker(context.progress, 100)
        data = labelled_examples(context.seed)
        config = ClassifierConfig(
            **{
                k: tuple(v) if k == "widths" else v
                for k, v in options.items()
                if k in CLASSIFIER_OPTIONS
            }
        )
        size = config.image_size
        images = read_pictures(data.image_names, size)
        tracker.update(10, f"{len(data.labels)} pictures decoded", force=True)
        titles = np.asarray(data.titles, dtype=object)
        target = float(
            options.get("target_precision", settings.CATEGORY_TARGET_PRECISION)
        )
        context.log(
            f"{len(data.labels)} labelled products in {len(data.class_category_ids)} "
            f"categories: {len(data.train)} to learn from, {len(data.validation)} to "
            f"validate, {len(data.test)} to test; target precision {target:.0%}"
        )

        def part(rows):
            return images[rows], list(titles[rows]), data.labels[rows]

        def measured(name, model, embedder=None, fit=True):
            if fit:
                model.fit(
                    *part(data.train),
                    len(data.class_category_ids),
                    validation=part(data.validation),
                )
            val_images, val_titles, val_labels = part(data.validation)
            thresholds = thresholds_for_precision(
                model.predict_proba(val_images, val_titles), val_labels, target
            )
            test_images, test_titles, test_labels = part(data.test)
            report = classification_report(
                test_labels,
                model.predict_proba(test_images, test_titles),
                thresholds,
                data.parent_of,
            )
            per_class = report.pop("per_class")
            metrics = {k: round(v, 6) for k, v in report.items() if np.isfinite(v)}
            context.log(f"{name}: {metrics}")
            artifact = artifact_bytes(
                model,
                class_category_ids=data.class_category_ids,
                thresholds=thresholds,
                image_size=size,
                embedder=embedder,
            )
            hyper = getattr(model, "hyperparameters", dict)()
            candidate = Candidate(name, metrics, artifact, "npz", hyper)
            return candidate, per_class

        def sink(fraction, message):
            tracker.update(10 + int(fraction * 70), message)

        network = ProductClassifier(
            config, seed=context.seed, progress=sink, log=context.log
        )
        alone, _ = measured(ProductClassifier.name, network)
        tracker.update(80, "image+title network measured", force=True)
        baselines = {}
        title_model = TitleOnly(seed=context.seed)
        for baseline in (MajorityClass(), title_model):
            baselines[baseline.name], _ = measured(
                baseline.name, baseline, embedder=network
            )
        features = ImageFeatures(seed=context.seed)
        pictures_alone, _ = measured(features.name, features)
        tracker.update(95, "baselines and image features measured", force=True)
        # The served candidate: the network with the TF-IDF title model and the
        # image-features model beside it, all trained above, weighed against each
        # other on validation data.
        fused = ImageTitleTfidf(network, title_model, features, seed=context.seed)
        train_images, train_titles, train_labels = part(data.train)
        out_of_fold = fused.cross_validate(
            train_images, train_titles, train_labels, len(data.class_category_ids)
        )
        fused.fit_weight(*part(data.validation), out_of_fold=out_of_fold)
        context.log(
            f"{fused.name}: image-features share {fused.features_share:.2f} against "
            "TF-IDF (chosen out of fold and on validation), network weight "
            f"{fused.weight:.2f}, temperature {fused.temperature:.3f} (chosen on "
            "validation)"
        )
        model, per_class = measured(fused.name, fused, fit=False)
        tracker.update(100, "done", force=True)
        return TrainingOutcome(
            model=model,
            baselines=baselines,
            protocol={
                "name": "stratified-holdout",
                "split": "70/15/15 per category (under 3 examples: training only)",
                "examples": int(len(data.labels)),
                "train": int(len(data.train)),
                "validation": int(len(data.validation)),
                "test": int(len(data.test)),
                "categories": int(len(data.class_category_ids)),
                "target_precision": target,
                "thresholds": "per category on validation, to reach the target",
                "calibration": "temperature scaling on validation",
                "fusion": (
                    "weighted mean of the image+title network's, the image-features "
                    "model's and the title TF-IDF model's log-probabilities; the "
                    "share of image features against TF-IDF chosen on out-of-fold "
                    "training predictions and validation, the network's weight on "
                    "validation"
                ),
                "components": {
                    ProductClassifier.name: alone.metrics,
                    ImageFeatures.name: pictures_alone.metrics,
                },
                "per_class": {
                    data.class_paths[index]: {
                        k: round(v, 4) if isinstance(v, float) else v
                        for k, v in values.items()
                    }
                    for index, values in per_class.items()
                },
            },
            data_fingerprint={
                "examples": int(len(data.labels)),
                "categories": int(len(data.class_category_ids)),
            },
        )

    # --- serving ----------------------------------------------------------------
    def load(self, algorithm: str, artifact: bytes) -> ServedClassifier:
        with np.load(io.BytesIO(artifact), allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        classes = classifier_classes()
        model = classes[str(arrays["model_class"])].from_bytes(
            arrays["model"].tobytes()
        )
        embedder = None
        if "embedder" in arrays:
            embedder = classes["ProductClassifier"].from_bytes(
                arrays["embedder"].tobytes()
            )
        return ServedClassifier(
            algorithm=algorithm,
            model=model,
            class_category_ids=arrays["class_category_ids"],
            thresholds=arrays["thresholds"],
            image_size=int(json.loads(str(arrays["meta"]))["image_size"]),
            uses_image=getattr(model, "use_image", False),
            embedder=embedder,
        )

    def inference_keys(self) -> list[int]:
        """Products with a picture: all are classified and embedded."""
        return list(
            Product.objects.annotate(image_name=first_image_path())
            .filter(image_name__isnull=False)
            .order_by("pk")
            .values_list("pk", flat=True)
        )

    def infer_chunk(self, *, model: ServedClassifier, keys: list, batch_id: int) -> int:
        """Classify and embed the chunk's products.

        A category a person set is kept; the model's view of it is stored beside it,
        so that the product page shows whether the model agrees.
        """
        version = ServedBatch.objects.get(pk=batch_id).model_version
        products = list(Product.objects.filter(pk__in=keys).order_by("pk"))
        return model.classify(products, version=version)

    def on_activated(self, batch_id: int, previous_batch_id: int | None) -> None:
        """Recompute every "visually similar" list from the batch's embeddings."""
        version = ServedBatch.objects.get(pk=batch_id).model_version
        image_embeddings_prune()
        if ProductImageEmbedding.objects.filter(model_version=version).exists():
            visually_similar_refresh(version=version)

    def delete_batch_rows(self, batch_ids: list[int]) -> None:
        """Nothing to drop: predictions live on the products and their decisions, and
        embeddings and visually similar lists are replaced per product."""
