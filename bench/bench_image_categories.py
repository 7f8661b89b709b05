"""Measure the product categorisers of issue 6 on real product photos and titles.

    nice -n 10 .venv/bin/python bench/bench_image_categories.py

Reads ../shared/data/fashion-product-images/products.csv directly (no database):
classes are `sub_category`, parents `master_category`. A stratified 70/15/15 split
(seeded; classes with fewer than 3 products go to training only). Each model is trained
on the training part, stopped early and calibrated on the validation part, which also
sets the auto-assign thresholds (99 % and 95 % target precision); metrics are on the
test part. "image+title+tfidf" fuses the image+title network and the title-tfidf
baseline trained above, weighed on the validation part (no extra training);
"image+title+tfidf+features" (the candidate the `image` kind serves) adds the
image-features model (colour, texture and outline features, LDA), its share against
TF-IDF chosen on out-of-fold predictions of the training part (cross-validation of
the two cheap models) and the validation part, then the network's weight.
"..., SKU as title" is a model with every title replaced by the SKU at validation and
test time, so only the image can tell.
Throughput: 10,000 images (the dataset's files, repeated) decoded and classified by
the fused model.
Prints progress to stderr and one JSON line to stdout.
"""

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog.ml.baselines import MajorityClass, TitleOnly  # noqa: E402
from catalog.ml.classifier import ClassifierConfig, ProductClassifier  # noqa: E402
from catalog.ml.fusion import ImageTitleTfidf  # noqa: E402
from catalog.ml.image_features import ImageFeatures  # noqa: E402
from catalog.ml.images import decode_many  # noqa: E402
from catalog.ml.metrics import classification_report  # noqa: E402
from catalog.ml.policy import thresholds_for_precision  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "fashion-product-images"
TARGETS = (0.99, 0.95)
FUSED2 = "image+title+tfidf"  # fuses the two models before it
FUSED = "image+title+tfidf+features"  # and the image-features model (served)
MODELS = (
    "image+title",
    "title-tfidf",
    "image-features",
    FUSED2,
    FUSED,
    "image",
    "title",
    "majority",
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def read_products(folder: Path) -> list[dict]:
    with open(folder / "products.csv", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["sub_category"]]


def stratified_split(labels: np.ndarray, seed: int, share: float = 0.15):
    """Return (train, validation, test) row indices, each class split 70/15/15."""
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        if len(rows) < 3:
            parts[0].extend(rows)
            continue
        n_held = max(1, int(round(len(rows) * share)))
        parts[2].extend(rows[:n_held])
        parts[1].extend(rows[n_held : 2 * n_held])
        parts[0].extend(rows[2 * n_held :])
    return tuple(np.sort(np.array(part, dtype=np.int64)) for part in parts)


def make_model(name: str, config: ClassifierConfig, seed: int):
    def progress(fraction: float, message: str) -> None:
        log(f"{name} {fraction:.0%} {message}")

    kwargs = {"seed": seed, "progress": progress, "log": log}
    if name == "image+title":
        return ProductClassifier(config, **kwargs)
    if name == "image":
        return ProductClassifier(config, use_title=False, **kwargs)
    if name == "title":
        return ProductClassifier(config, use_image=False, **kwargs)
    if name == "title-tfidf":
        return TitleOnly(seed=seed)
    if name == "majority":
        return MajorityClass()
    if name == "image-features":
        return ImageFeatures(seed=seed)
    raise ValueError(f"Unknown model {name!r}; expected one of {', '.join(MODELS)}.")


def evaluate(model, val, test, parent_of) -> dict:
    """Return test metrics at each target precision, thresholds set on validation."""
    val_proba = model.predict_proba(val[0], val[1])
    test_proba = model.predict_proba(test[0], test[1])
    result = {}
    for target in TARGETS:
        thresholds = thresholds_for_precision(val_proba, val[2], target=target)
        report = classification_report(test[2], test_proba, thresholds, parent_of)
        report.pop("per_class")
        result[f"at_{target:.2f}"] = {k: round(v, 4) for k, v in report.items()}
    return result


def throughput(model, paths: list[Path], titles: list[str], size: int, n: int):
    """Return images/s to decode and classify `n` images read from disk."""
    chosen = [paths[i % len(paths)] for i in range(n)]
    chosen_titles = [titles[i % len(titles)] for i in range(n)]
    started = time.monotonic()
    for start in range(0, n, 1000):
        block = decode_many(chosen[start : start + 1000], size)
        model.predict_proba(block, chosen_titles[start : start + 1000])
    seconds = time.monotonic() - started
    return {
        "images": n,
        "seconds": round(seconds, 1),
        "images_per_s": round(n / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=ClassifierConfig.epochs)
    parser.add_argument("--image-size", type=int, default=ClassifierConfig.image_size)
    parser.add_argument("--limit", type=int, default=0, help="use the first N rows")
    parser.add_argument("--throughput-images", type=int, default=10_000)
    parser.add_argument(
        "--dump", type=Path, help="save validation and test probabilities (.npz)"
    )
    args = parser.parse_args()

    rows = read_products(args.data)
    if args.limit:
        rows = rows[: args.limit]
    classes = sorted({row["sub_category"] for row in rows})
    parents = sorted({row["master_category"] for row in rows})
    parent_by_class = {row["sub_category"]: row["master_category"] for row in rows}
    parent_of = np.array([parents.index(parent_by_class[c]) for c in classes])
    labels = np.array([classes.index(row["sub_category"]) for row in rows])
    titles = [row["name"] for row in rows]
    skus = [row["sku"] for row in rows]
    paths = [args.data / row["image"] for row in rows]
    config = ClassifierConfig(image_size=args.image_size, epochs=args.epochs)

    started = time.monotonic()
    images = decode_many(paths, config.image_size)
    decode_seconds = time.monotonic() - started
    counts = f"{len(rows)} products, {len(classes)} classes"
    log(f"{counts}, decoded in {decode_seconds:.0f} s")
    train, val, test = stratified_split(labels, args.seed)

    def part(rows_, names=titles):
        return images[rows_], [names[i] for i in rows_], labels[rows_]

    results, fitted, seconds_of, dumped = {}, {}, {}, {}

    def trained(name):
        if name not in fitted:
            model = make_model(name, config, args.seed)
            started = time.monotonic()
            model.fit(*part(train), len(classes), validation=part(val))
            fitted[name] = model
            seconds_of[name] = time.monotonic() - started
        return fitted[name]

    for name in args.models.split(","):
        if name == FUSED2:
            network, title_model = trained("image+title"), trained("title-tfidf")
            started = time.monotonic()
            model = ImageTitleTfidf(network, title_model, seed=args.seed)
            model.fit_weight(*part(val))
            seconds = sum(seconds_of[n] for n in ("image+title", "title-tfidf"))
            seconds += time.monotonic() - started
            log(f"{name}: weight {model.weight}, nll {model.validation_nll}")
        elif name == FUSED:
            parts = ("image+title", "title-tfidf", "image-features")
            network, title_model, image_model = (trained(n) for n in parts)
            started = time.monotonic()
            model = ImageTitleTfidf(network, title_model, image_model, seed=args.seed)
            out_of_fold = model.cross_validate(*part(train), len(classes))
            model.fit_weight(*part(val), out_of_fold=out_of_fold)
            seconds = sum(seconds_of[n] for n in parts)
            seconds += time.monotonic() - started
            log(
                f"{name}: features share {model.features_share}, share nll "
                f"{model.share_nll}; network weight {model.weight}, nll "
                f"{model.validation_nll}"
            )
        else:
            model = trained(name)
            seconds = seconds_of[name]
        results[name] = {
            "train_seconds": round(
                seconds + decode_seconds * len(train) / len(rows), 1
            ),
            **evaluate(model, part(val), part(test), parent_of),
        }
        log(f"{name}: {json.dumps(results[name])}")
        if args.dump:
            for split_name, split_rows in (("val", val), ("test", test)):
                dumped[f"{name}/{split_name}"] = model.predict_proba(
                    *part(split_rows)[:2]
                )
        if name in ("image+title", FUSED2, FUSED):
            sku = f"{name}, SKU as title"
            results[sku] = evaluate(model, part(val, skus), part(test, skus), parent_of)
            log(f"{sku}: {json.dumps(results[sku])}")
        if name == FUSED:
            results["throughput"] = throughput(
                model, paths, titles, config.image_size, args.throughput_images
            )
            log(f"throughput: {results['throughput']}")
            results["hyperparameters"] = model.hyperparameters()
    split = {"train": len(train), "validation": len(val), "test": len(test)}
    if args.dump:
        np.savez(args.dump, labels=labels, val=val, test=test, **dumped)
    print(json.dumps({"data": str(args.data), "split": split, **results}))


if __name__ == "__main__":
    main()
