"""Measure "visually similar products" on real product photos.

    nice -n 10 .venv/bin/python bench/bench_visual_similarity.py [--epochs 8]

Reads ../shared/data/fashion-product-images/products.csv directly (no database). The
image+title classifier is trained on a stratified 70/15/15 split (as in
bench_image_categories.py); then every product's picture is embedded and each
held-out test product gets its top 5 visually similar products among the whole
catalogue (never itself), as the image kind serves them. Precision@5 is the share of
those that have the query's sub-category. Baselines: 5 random products of the same
master category, 5 random products overall, and the nearest by raw pixels (the
picture shrunk to 16×16, cosine). Prints progress to stderr, one JSON line to stdout.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_image_categories import (  # noqa: E402
    DATA,
    read_products,
    stratified_split,
)
from catalog.ml.classifier import ClassifierConfig, ProductClassifier  # noqa: E402
from catalog.ml.images import decode_many  # noqa: E402
from catalog.ml.similarity import nearest_neighbours, unit_rows  # noqa: E402

K = 5


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def precision_at_k(neighbours: np.ndarray, query_labels, labels) -> float:
    """Return the mean share of each query's neighbours that share its label."""
    valid = neighbours >= 0
    hits = (labels[np.maximum(neighbours, 0)] == query_labels[:, None]) & valid
    return float(hits.sum(axis=1).mean() / neighbours.shape[1])


def random_neighbours(queries, pools: dict, group, k: int, seed: int) -> np.ndarray:
    """Return k random others from each query's pool (its group), -1 padded."""
    rng = np.random.default_rng(seed)
    out = np.full((len(queries), k), -1, dtype=np.int64)
    for row, query in enumerate(queries.tolist()):
        pool = pools[group[query]]
        pool = pool[pool != query]
        chosen = rng.choice(pool, size=min(k, len(pool)), replace=False)
        out[row, : len(chosen)] = chosen
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=ClassifierConfig.epochs)
    parser.add_argument("--image-size", type=int, default=ClassifierConfig.image_size)
    parser.add_argument("--limit", type=int, default=0, help="use the first N rows")
    args = parser.parse_args()

    rows = read_products(args.data)
    if args.limit:
        rows = rows[: args.limit]
    classes = sorted({row["sub_category"] for row in rows})
    parents = sorted({row["master_category"] for row in rows})
    labels = np.array([classes.index(row["sub_category"]) for row in rows])
    parent = np.array([parents.index(row["master_category"]) for row in rows])
    titles = [row["name"] for row in rows]
    paths = [args.data / row["image"] for row in rows]
    config = ClassifierConfig(image_size=args.image_size, epochs=args.epochs)

    started = time.monotonic()
    images = decode_many(paths, config.image_size)
    log(
        f"{len(rows)} products, {len(classes)} sub-categories, decoded in "
        f"{time.monotonic() - started:.0f} s"
    )
    train, val, test = stratified_split(labels, args.seed)

    def part(rows_):
        return images[rows_], [titles[i] for i in rows_], labels[rows_]

    model = ProductClassifier(
        config,
        seed=args.seed,
        progress=lambda fraction, message: log(f"{fraction:.0%} {message}"),
        log=log,
    )
    started = time.monotonic()
    model.fit(*part(train), len(classes), validation=part(val))
    train_seconds = time.monotonic() - started
    accuracy = float(
        np.mean(model.predict_proba(*part(test)[:2]).argmax(axis=1) == labels[test])
    )
    log(f"trained in {train_seconds:.0f} s; test accuracy {accuracy:.4f}")

    started = time.monotonic()
    vectors = model.embed(images)
    neighbours, _ = nearest_neighbours(
        vectors, vectors, 20, query_rows=np.arange(len(rows))
    )
    list_seconds = time.monotonic() - started
    found = neighbours[test, :K]

    pixels = unit_rows(
        decode_many(paths, 16).reshape(len(rows), -1).astype(np.float32) / 255 - 0.5
    )
    by_pixels, _ = nearest_neighbours(pixels[test], pixels, K, query_rows=test)
    same_parent = random_neighbours(
        test,
        {p: np.flatnonzero(parent == p) for p in set(parent.tolist())},
        parent,
        K,
        args.seed,
    )
    anywhere = random_neighbours(
        test, {0: np.arange(len(rows))}, np.zeros(len(rows), int), K, args.seed
    )

    def measured(neighbours_):
        return {
            f"precision@{K}": round(
                precision_at_k(neighbours_, labels[test], labels), 4
            ),
            "first_same_sub_category": round(
                precision_at_k(neighbours_[:, :1], labels[test], labels), 4
            ),
            f"same_master@{K}": round(
                precision_at_k(neighbours_, parent[test], parent), 4
            ),
        }

    result = {
        "data": str(args.data),
        "products": len(rows),
        "queries": len(test),
        "epochs": args.epochs,
        "image_size": config.image_size,
        "embedding_dim": config.embedding_dim,
        "train_seconds": round(train_seconds, 1),
        "classifier_test_accuracy": round(accuracy, 4),
        "embed_and_list_seconds": round(list_seconds, 1),
        "image_embedding": measured(found),
        "raw_pixels_16": measured(by_pixels),
        "random_same_master": measured(same_parent),
        "random": measured(anywhere),
    }
    log(json.dumps(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
