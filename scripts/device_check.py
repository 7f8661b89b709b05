#!/usr/bin/env python
"""Train SASRec and the image categoriser briefly on whatever device is present.

    .venv/bin/python scripts/device_check.py --data ../shared/data
    KERAS_BACKEND=jax python scripts/device_check.py --data /srv/data   # a GPU host

The same command runs unchanged on a CPU and on a CUDA GPU (Keras 3 on TensorFlow,
JAX or PyTorch). It sets the device up as the workers do (`mlops.ml.device`: seeds,
GPU memory growth, mixed float16 on a GPU), then, on real data:

- SASRec on the Complete Journey baskets (households' purchases in time order), each
  household's last purchase held out: ndcg@10 and hit rate@10 over the whole catalogue,
  next to recent popularity's on the same split;
- the product photo categoriser (the served image branch, no titles) on the fashion
  photos, 20 % of them held out: accuracy, next to always answering the commonest class.

Prints the device and, per model, the seconds of each epoch (the first includes graph
tracing and compilation; later ones are the steady rate) and the metric, then one JSON
line per model. `--epochs` (default 2) sets the epochs of both. No Django needed.
"""

import argparse
import contextlib
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--images", type=int, default=0, help="use this many photos (0: all)"
    )
    parser.add_argument("--only", choices=("sasrec", "image"), default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    from mlops.ml.device import setup_device

    device = setup_device(seed=args.seed)
    print(f"device: {device} (mixed precision: {device.mixed_precision})", flush=True)
    checks = {"sasrec": check_sasrec, "image": check_image}
    for name, check in checks.items():
        if args.only in (None, name):
            result = check(args)
            result.update(device=str(device), mixed_precision=device.mixed_precision)
            print(json.dumps(result), flush=True)


# --- timing ------------------------------------------------------------------------
@contextlib.contextmanager
def epoch_seconds():
    """Yield a list that fills with the seconds of each epoch of every `fit` inside."""
    import keras

    times: list[float] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.began)

    fit = keras.Model.fit

    def timed_fit(model, *args, callbacks=None, **kwargs):
        return fit(model, *args, callbacks=[*(callbacks or []), EpochTimer()], **kwargs)

    keras.Model.fit = timed_fit
    try:
        yield times
    finally:
        keras.Model.fit = fit


def report(name: str, epochs: list[float], metrics: dict) -> dict:
    shown = ", ".join(
        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v:,}"
        for k, v in metrics.items()
    )
    per_epoch = ", ".join(f"{s:.1f}" for s in epochs)
    print(f"{name}: epochs {per_epoch} s; {shown}", flush=True)
    return {"model": name, "epoch_s": [round(s, 2) for s in epochs], **metrics}


# --- SASRec ------------------------------------------------------------------------
def baskets(path: Path):
    """Return Interactions of the Complete Journey transactions (household, product)."""
    from recommender.ml.protocol import Interactions

    file = path / "dunnhumby-complete-journey" / "transactions.csv"
    if not file.exists():
        sys.exit(f"{file} is missing: pass --data, the folder of the shared data sets")
    with file.open(newline="") as handle:
        rows = [
            (r["household_id"], r["product_id"], r["transaction_timestamp"])
            for r in csv.DictReader(handle)
        ]
    households, user = np.unique([r[0] for r in rows], return_inverse=True)
    products, item = np.unique([r[1] for r in rows], return_inverse=True)
    stamps = np.array([r[2] for r in rows], dtype="datetime64[s]")
    day = ((stamps - stamps.min()) // np.timedelta64(1, "D")).astype(np.int32)
    return Interactions(
        user=user.astype(np.int64),
        item=item.astype(np.int64),
        day=day,
        n_users=len(households),
        n_items=len(products),
    )


def check_sasrec(args) -> dict:
    from recommender.ml.popularity import RecentPopularity
    from recommender.ml.protocol import evaluate, leave_last_out
    from recommender.ml.sasrec import SASRec

    data = baskets(args.data)
    split = leave_last_out(data)
    history, users, held_out = (
        split.train_plus_validation,
        split.test_users,
        split.test_items,
    )
    model = SASRec(epochs=args.epochs, patience=args.epochs, seed=args.seed)
    with epoch_seconds() as epochs:
        model.fit(history)
    trained = evaluate(model.score, history, users, held_out)
    popularity = RecentPopularity(half_life_days=30.0).fit(history)
    baseline = evaluate(popularity.score, history, users, held_out)
    return report(
        "sasrec",
        epochs,
        {
            "ndcg@10": trained["ndcg@10"],
            "hr@10": trained["hr@10"],
            "popularity_ndcg@10": baseline["ndcg@10"],
            "users": int(len(users)),
            "items": int(data.n_items),
            "interactions": int(len(history.user)),
        },
    )


# --- image categoriser ---------------------------------------------------------------
def photos(path: Path, limit: int, size: int):
    """Return (images, labels, class names) of the fashion photos by sub-category."""
    from catalog.ml.images import decode

    folder = path / "fashion-product-images"
    if not (folder / "products.csv").exists():
        sys.exit(
            f"{folder} is missing: pass --data, the folder of the shared data sets"
        )
    with (folder / "products.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    order = np.random.default_rng(0).permutation(len(rows))
    if limit:
        order = order[:limit]
    rows = [rows[i] for i in order]
    names, labels = np.unique([r["sub_category"] for r in rows], return_inverse=True)
    images = np.stack([decode((folder / r["image"]).read_bytes(), size) for r in rows])
    return images, labels.astype(np.int64), names


def check_image(args) -> dict:
    from catalog.ml.classifier import ClassifierConfig, ProductClassifier

    config = ClassifierConfig(epochs=args.epochs, patience=args.epochs)
    images, labels, names = photos(args.data, args.images, config.image_size)
    n_test = len(labels) // 5
    test, train = slice(0, n_test), slice(n_test, None)
    model = ProductClassifier(config, use_title=False, seed=args.seed)
    with epoch_seconds() as epochs:
        model.fit(images[train], None, labels[train], len(names))
    predicted = model.predict_proba(images[test], None).argmax(axis=1)
    commonest = np.bincount(labels[train], minlength=len(names)).argmax()
    return report(
        "image-categoriser",
        epochs,
        {
            "accuracy": float(np.mean(predicted == labels[test])),
            "commonest_class_accuracy": float(np.mean(labels[test] == commonest)),
            "photos_train": int(len(labels) - n_test),
            "photos_test": int(n_test),
            "classes": int(len(names)),
        },
    )


if __name__ == "__main__":
    main()
