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
from collections import Counter
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
from .ml.safety import NAMED, UNNAMED, ReviewRules, served_decisions
from .models import Category, Product, ProductImageEmbedding

MIN_EXAMPLES = 20
SPLIT = (0.7, 0.15, 0.15)
MIN_PER_CLASS_TO_TEST = 3  # rarer categories are left out (cannot be measured)
# The served model's thresholds promise the target precision at the Wilson lower
# bound, one standard error down: validation sets are small.
THRESHOLD_Z = 1.0
UNNAMED_PREFIX = "unnamed_"  # metrics measured with the names hidden
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
    """A loaded categoriser with its classes, auto-assign thresholds (per kind of
    name, where the model tells kinds apart) and review rules."""

    algorithm: str
    model: object
    class_category_ids: np.ndarray
    thresholds: np.ndarray
    image_size: int
    uses_image: bool
    embedder: object | None = None  # the image network, where a baseline serves
    unnamed_thresholds: np.ndarray | None = None  # names with no known word
    rules: object | None = None  # `ml.safety.ReviewRules`

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
        return self.decisions(products).proba

    def decisions(self, products: list[Product]):
        """Return the served `ml.safety.Decisions` of products (with `image_name`),
        image embeddings included where the model gives them."""
        from .ml.safety import served_decisions

        network = self.network
        pictures = self.uses_image or network is not None
        names = [p.image_name for p in products] if pictures else []
        images = read_pictures(names, self.image_size) if pictures else None
        decisions = served_decisions(
            self.model,
            images if self.uses_image else None,
            [p.name for p in products],
            self.thresholds,
            unnamed_thresholds=self.unnamed_thresholds,
            rules=self.rules,
            category_names=self.category_paths() if self.rules else None,
            with_embeddings=network is self.model,
        )
        if decisions.embeddings is None and network is not None:
            decisions.embeddings = network.embed(images)
        return decisions

    def category_paths(self) -> list[str]:
        paths = Category.objects.in_bulk(self.class_category_ids.tolist())
        return [
            paths[pk].path if pk in paths else f"category {pk}"
            for pk in self.class_category_ids.tolist()
        ]

    def classify(self, products, version: ModelVersion | None = None) -> int:
        """Predict and apply (auto-assign or queue, with the reason) each product's
        category. Where the model gives image embeddings, each product's is stored
        too."""
        products = with_pictures(products)
        if not products:
            return 0
        version = version or image_champion()
        decisions = self.decisions(products)
        predictions = predictions_from_proba(
            [p.pk for p in products],
            decisions.proba,
            self.class_category_ids.tolist(),
            decisions.thresholds,
            reasons=decisions.reasons,
            kinds=decisions.kinds.tolist(),
        )
        apply_predictions_bulk(predictions, version=version)
        if decisions.embeddings is not None and version is not None:
            image_embeddings_store(
                [p.pk for p in products], decisions.embeddings, version=version
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
    model,
    *,
    class_category_ids,
    thresholds,
    image_size,
    embedder=None,
    unnamed_thresholds=None,
    rules=None,
) -> bytes:
    """Return the servable artifact; `embedder` (the image network) rides along with
    a baseline, so that pictures are embedded whichever model serves.
    `unnamed_thresholds` serve products whose name has no known word; `rules` (the
    review rules) send unusual inputs to review."""
    buffer = io.BytesIO()
    extra = {}
    if embedder is not None and embedder is not model:
        extra["embedder"] = np.frombuffer(embedder.to_bytes(), dtype=np.uint8)
    if unnamed_thresholds is not None:
        extra["unnamed_thresholds"] = np.asarray(unnamed_thresholds, dtype=np.float64)
    if rules is not None:
        extra["review_rules"] = np.frombuffer(rules.to_bytes(), dtype=np.uint8)
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
    left_out: dict[str, int]  # categories with too few products: count by path


def labelled_examples(seed: int, log=None) -> Examples:
    """Return the labelled products of the categories the model can learn, split.

    A category needs `MIN_PER_CLASS_TO_TEST` labelled products with a picture to be
    learnt and measured; rarer ones are left out (and logged). Raise RunRefused,
    saying what is missing, where fewer than two categories are left.
    """
    rows = list(training_examples())
    if len(rows) < MIN_EXAMPLES:
        raise RunRefused(
            f"Not enough categorised products with a picture: {len(rows)}; at least "
            f"{MIN_EXAMPLES} whose category a person set or imported are needed."
        )
    rows, rare = learnable_rows(rows)
    if rare and log is not None:
        log(
            f"{len(rare)} categories left out, with fewer than "
            f"{MIN_PER_CLASS_TO_TEST} labelled products with a picture: "
            + rare_summary(rare)
        )
    if len({r["category_id"] for r in rows}) < 2:
        raise RunRefused(
            "Not enough labelled products to learn categories from pictures: "
            f"each category needs {MIN_PER_CLASS_TO_TEST} or more products with a "
            "picture whose category a person set or imported, and at least two "
            f"categories must have them; {len({r['category_id'] for r in rows})} "
            f"has. Fewer: {rare_summary(rare)}."
        )
    class_ids = np.array(sorted({r["category_id"] for r in rows}), dtype=np.int64)
    categories = Category.objects.in_bulk(class_ids.tolist())
    parents = sorted({categories[pk].parent_id or pk for pk in class_ids.tolist()})
    parent_of = np.array(
        [parents.index(categories[pk].parent_id or pk) for pk in class_ids.tolist()]
    )
    labels = np.searchsorted(class_ids, [r["category_id"] for r in rows])
    train, validation, test = stratified_split(labels, seed)
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
        left_out=rare,
    )


def learnable_rows(rows: list[dict]) -> tuple[list[dict], dict[str, int]]:
    """Return the rows of categories with enough products, and the others' counts
    by category path."""
    counts = Counter(r["category_id"] for r in rows)
    kept = [r for r in rows if counts[r["category_id"]] >= MIN_PER_CLASS_TO_TEST]
    rare = Counter(
        r["category_path"]
        for r in rows
        if counts[r["category_id"]] < MIN_PER_CLASS_TO_TEST
    )
    return kept, dict(sorted(rare.items()))


def rare_summary(rare: dict[str, int], shown: int = 5) -> str:
    """Return "'A > B': 2, … (n more)" for the first categories."""
    if not rare:
        return "none"
    items = list(rare.items())
    text = ", ".join(f"{path!r}: {n}" for path, n in items[:shown])
    if len(items) > shown:
        text += f", and {len(items) - shown} more"
    return text


def stratified_split(labels: np.ndarray, seed: int):
    """Split indices per class 70/15/15 (at least one each to validate and test);
    classes with under 3 examples train only."""
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


class ImagePictureOnly:
    """The image+title network's image head alone: the CNN read from the picture,
    never the name (measured, not served)."""

    name = "image-cnn"
    use_image = True

    def __init__(self, network):
        self.network = network

    def predict_proba(self, images, titles) -> np.ndarray:
        return self.network.predict_proba(images, [""] * len(images))

    def to_bytes(self) -> bytes:
        return self.network.to_bytes()

    def hyperparameters(self) -> dict:
        return self.network.hyperparameters()


class ImageKind:
    kind = ModelKind.IMAGE
    # Products may come named by codes: the accuracy with real names and with names
    # hidden, averaged, so that a title-only model cannot win on names alone.
    primary_metric = "accuracy_all_kinds"
    higher_is_better = True

    # --- training ---------------------------------------------------------------
    def train(self, context: TrainContext) -> TrainingOutcome:
        from .ml.classifier import ClassifierConfig, ProductClassifier
        from .ml.fusion import ImageTitleTfidf
        from .ml.image_features import ImageFeatures, image_features

        options = context.options
        tracker = ProgressTracker(context.progress, 100)
        data = labelled_examples(context.seed, context.log)
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

        def measured(name, model, embedder=None, fit=True, served=None):
            """Fit (unless fitted), set thresholds on validation and measure on the
            test part twice: with the real names and with names hidden. `served`
            (the fused model's per-kind thresholds and review rules) replaces the
            one set of thresholds of a plain model."""
            if fit:
                model.fit(
                    *part(data.train),
                    len(data.class_category_ids),
                    validation=part(data.validation),
                )
            if served is None:
                val_images, val_titles, val_labels = part(data.validation)
                served = {
                    "thresholds": thresholds_for_precision(
                        model.predict_proba(val_images, val_titles),
                        val_labels,
                        target,
                        z=THRESHOLD_Z,
                    )
                }
            metrics, per_class = {}, None
            test_images, test_titles, test_labels = part(data.test)
            for prefix, names in (("", test_titles), (UNNAMED_PREFIX, None)):
                decisions = served_decisions(
                    model,
                    test_images,
                    names if names is not None else [""] * len(test_labels),
                    served["thresholds"],
                    unnamed_thresholds=served.get("unnamed_thresholds"),
                    rules=served.get("rules"),
                )
                report = classification_report(
                    test_labels,
                    decisions.proba,
                    decisions.thresholds,
                    data.parent_of,
                    held=decisions.held,
                )
                found = report.pop("per_class")
                per_class = per_class or found
                metrics |= {
                    prefix + k: round(v, 6) for k, v in report.items() if np.isfinite(v)
                }
            metrics["accuracy_all_kinds"] = round(
                (metrics["accuracy"] + metrics[UNNAMED_PREFIX + "accuracy"]) / 2, 6
            )
            context.log(f"{name}: {metrics}")
            artifact = artifact_bytes(
                model,
                class_category_ids=data.class_category_ids,
                image_size=size,
                embedder=embedder,
                **served,
            )
            hyper = getattr(model, "hyperparameters", dict)()
            if "rules" in served:
                hyper["review_rules"] = served["rules"].summary()
            candidate = Candidate(name, metrics, artifact, "npz", hyper)
            return candidate, per_class

        def fused_policy(fused) -> dict:
            """Per-kind thresholds and review rules, all chosen on validation."""
            val_images, val_titles, val_labels = part(data.validation)
            val_features = image_features(val_images)
            fused.fit_picture(val_images, val_labels, val_features)
            rules = ReviewRules()
            rules.fit_reference(image_features(images[data.train]), context.seed)
            pictures = fused.picture_proba(val_images, val_features)
            policy = {"rules": rules}
            for kind, names in ((NAMED, val_titles), (UNNAMED, [""] * len(val_labels))):
                proba = fused.predict_proba(val_images, names)
                thresholds = thresholds_for_precision(
                    proba, val_labels, target, z=THRESHOLD_Z
                )
                key = "thresholds" if kind == NAMED else "unnamed_thresholds"
                policy[key] = thresholds
                rules.fit_cutoffs(
                    kind, proba, val_labels, thresholds, pictures, val_features
                )
            return policy

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
        policy = fused_policy(fused)
        context.log(
            f"{fused.name}: image-features share {fused.features_share:.2f} against "
            "TF-IDF (chosen out of fold and on validation), network weight "
            f"{fused.weight:.2f}, temperature {fused.temperature:.3f}; picture "
            f"path: network image head weight {fused.picture_weight:.2f}, "
            f"temperature {fused.picture_temperature:.3f} (chosen on validation "
            "with names hidden); review rules "
            f"{json.dumps(policy['rules'].summary())}"
        )
        model, per_class = measured(fused.name, fused, fit=False, served=policy)
        picture_only = ImagePictureOnly(network)
        cnn_alone, _ = measured(picture_only.name, picture_only, fit=False)
        tracker.update(100, "done", force=True)
        return TrainingOutcome(
            model=model,
            baselines=baselines,
            protocol={
                "name": "stratified-holdout",
                "split": "70/15/15 per category, at least one to validate and test",
                "left_out": {
                    "needs_per_category": MIN_PER_CLASS_TO_TEST,
                    "categories": data.left_out,
                },
                "examples": int(len(data.labels)),
                "train": int(len(data.train)),
                "validation": int(len(data.validation)),
                "test": int(len(data.test)),
                "categories": int(len(data.class_category_ids)),
                "target_precision": target,
                "thresholds": (
                    "per category on validation, to reach the target; for the "
                    "served model one set per kind of name"
                ),
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
                    picture_only.name: cnn_alone.metrics,
                },
                "input_kinds": (
                    "each model measured on the test part with its real names and "
                    f"with names hidden ({UNNAMED_PREFIX}*); the served model has "
                    "per-category thresholds per kind of name (informative or "
                    "not), chosen on validation, and review rules (unseen name "
                    "words, a picture unlike the training ones, picture experts "
                    "disagreeing, spread-out confidence) whose cut-offs are set "
                    "on validation"
                ),
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
        rules = None
        if "review_rules" in arrays:
            from .ml.safety import ReviewRules

            rules = ReviewRules.from_bytes(arrays["review_rules"].tobytes())
        return ServedClassifier(
            algorithm=algorithm,
            model=model,
            class_category_ids=arrays["class_category_ids"],
            thresholds=arrays["thresholds"],
            image_size=int(json.loads(str(arrays["meta"]))["image_size"]),
            uses_image=getattr(model, "use_image", False),
            embedder=embedder,
            unnamed_thresholds=arrays.get("unnamed_thresholds"),
            rules=rules,
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
