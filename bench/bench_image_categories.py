"""Image categories through the served path, with names of every kind.

    nice -n 10 .venv/bin/python bench/bench_image_categories.py \\
        --data /work/shared/data/fashion-product-images [--limit 1500]

What a shop does, in a fresh SQLite database and media folder of its own (or the
DATABASE_URL and VAR_DIR given): `import_products` of the labelled part of the
fashion photos (category `master > sub`), `train image` (with the target precision
given, the only option), then the held-out part imported without categories, once
per naming: the real names, then the same products renamed (the same photo files)
by codes of several shapes (`IMG-18653`, `A7-33-XK`, `0004512`, `SKU_ab12`), words
of a language the catalogue never uses, and an empty name (set in the database: the
importer requires a name). After each: `infer image`, then `export_products`, whose
`auto_category` and `auto_category_status` are scored against the true category:
accuracy and macro-F1 of the top suggestion, the share auto-assigned and its
precision. Nothing is recalibrated on the renamed products: the thresholds and
review rules are those the trained model serves.

Also read from the registry: the candidate's and baselines' test metrics (with real
and hidden names), the image-only CNN and image-features components; and the time to
decode and classify 10,000 pictures (the held-out files, repeated) with the served
model, without writing. Prints progress to stderr and one JSON line to stdout.
"""

import argparse
import csv
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "fashion-product-images"
FOREIGN = [  # words no fashion title of the data set uses (Finnish)
    "paita",
    "kenkä",
    "laukku",
    "housut",
    "sininen",
    "musta",
    "kesä",
    "talvi",
    "miesten",
    "naisten",
]


QUIET = io.StringIO()  # the commands' own reports: stdout is the JSON line


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def read_products(folder: Path) -> list[dict]:
    """Return the data set's rows that have a sub-category (also used by
    bench_visual_similarity)."""
    with open(folder / "products.csv", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["sub_category"]]


def stratified_split(labels: np.ndarray, seed: int, share: float = 0.15):
    """Return (train, validation, test) row indices, each class split 70/15/15
    (bench_visual_similarity's split)."""
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


def namings(rng: np.random.Generator) -> dict:
    """Return the renamings by name: a function of (row index, sku) to a name."""

    def foreign(i: int, sku: str) -> str:
        picked = rng.choice(len(FOREIGN), 3, replace=False)
        return " ".join(FOREIGN[j] for j in picked)

    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return {
        "IMG-18653": lambda i, sku: f"IMG-{sku.split('-')[-1]}",
        "A7-33-XK": lambda i, sku: (
            f"{letters[i % 24]}{i % 10}-{(i * 7) % 100:02d}-"
            f"{letters[(i * 5) % 24]}{letters[(i * 11) % 24]}"
        ),
        "0004512": lambda i, sku: f"{(i * 7919) % 10_000_000:07d}",
        "SKU_ab12": lambda i, sku: f"SKU_{letters[i % 24].lower()}{i % 97:02d}",
        "unseen language": foreign,
        "empty": None,
    }


def split_rows(rows: list[dict], holdout: float, seed: int):
    """Return (labelled, held-out) rows, each category split alike."""
    rng = np.random.default_rng(seed)
    labelled, held = [], []
    by_class: dict[str, list[dict]] = {}
    for row in rows:
        by_class.setdefault(row["category"], []).append(row)
    for members in by_class.values():
        order = rng.permutation(len(members))
        n_held = int(round(len(members) * holdout))
        held += [members[i] for i in order[:n_held]]
        labelled += [members[i] for i in order[n_held:]]
    return labelled, held


def write_csv(path: Path, rows: list[dict], *, with_category: bool, names=None):
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["sku", "name", "category", "price", "image"])
        for i, row in enumerate(rows):
            name = row["name"] if names is None else names[i]
            category = row["category"] if with_category else ""
            out.writerow([row["sku"], name, category, "10.00", row["image"]])


def scored(exported: Path, truth: dict[str, str]) -> dict:
    """Score the exported automatic categories of the held-out products."""
    from sklearn.metrics import f1_score

    predicted, actual, assigned = [], [], []
    with exported.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["sku"] in truth:
                predicted.append(row["auto_category"])
                actual.append(truth[row["sku"]])
                assigned.append(row["auto_category_status"] == "auto_assigned")
    predicted, actual = np.array(predicted), np.array(actual)
    assigned = np.array(assigned)
    correct = predicted == actual
    return {
        "products": int(len(actual)),
        "classified": int(np.sum(predicted != "")),
        "accuracy": round(float(correct.mean()), 4),
        "macro_f1": round(float(f1_score(actual, predicted, average="macro")), 4),
        "auto_assigned": round(float(assigned.mean()), 4),
        "auto_assigned_precision": (
            round(float(correct[assigned].mean()), 4) if assigned.any() else None
        ),
    }


def throughput(paths: list[Path], n: int) -> dict:
    """Decode and classify `n` pictures with the served model (nothing written)."""
    from catalog.ml.images import decode_many
    from catalog.ml.safety import served_decisions
    from mlops.loader import champions
    from mlops.models import ModelKind

    _, served = champions.get(ModelKind.IMAGE)
    chosen = [paths[i % len(paths)] for i in range(n)]
    started = time.monotonic()
    for start in range(0, n, 1000):
        block = chosen[start : start + 1000]
        images = decode_many(block, served.image_size)
        served_decisions(
            served.model,
            images,
            [""] * len(block),
            served.thresholds,
            unnamed_thresholds=served.unnamed_thresholds,
            rules=served.rules,
        )
    seconds = time.monotonic() - started
    return {
        "images": n,
        "seconds": round(seconds, 1),
        "images_per_s": round(n / seconds),
    }


def setup_django(workdir: Path) -> None:
    """Use the given database and media, or fresh ones in `workdir`; migrate."""
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'db.sqlite3'}")
    os.environ.setdefault("VAR_DIR", str(workdir / "var"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--limit", type=int, default=0, help="use N products")
    parser.add_argument("--target-precision", type=float, default=0.99)
    parser.add_argument("--options", default="{}", help="more `train` options (JSON)")
    parser.add_argument("--throughput-images", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (args.data / "products.csv").exists():
        print(json.dumps({"skipped": f"{args.data / 'products.csv'} not found"}))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="image-bench-"))
    setup_django(workdir)
    from django.core.management import call_command

    from catalog.models import Product
    from mlops.models import ModelVersion

    rows = [
        {**r, "category": f"{r['master_category']} > {r['sub_category']}"}
        for r in read_products(args.data)
    ]
    rng = np.random.default_rng(args.seed)
    if args.limit:
        rows = [rows[i] for i in sorted(rng.permutation(len(rows))[: args.limit])]
    labelled, held = split_rows(rows, args.holdout, args.seed)
    timings = {}
    log(f"{len(labelled)} labelled and {len(held)} held-out products")

    started = time.monotonic()
    write_csv(workdir / "labelled.csv", labelled, with_category=True)
    call_command(
        "import_products",
        str(workdir / "labelled.csv"),
        "--images-dir",
        str(args.data),
        "--no-progress",
        verbosity=0,
        stdout=QUIET,
    )
    timings["import_labelled_s"] = round(time.monotonic() - started, 1)
    options = {"target_precision": args.target_precision, **json.loads(args.options)}
    started = time.monotonic()
    call_command(
        "train", "image", "--wait", "--options", json.dumps(options), stdout=QUIET
    )
    timings["train_s"] = round(time.monotonic() - started, 1)
    version = ModelVersion.objects.filter(kind="image").latest("pk")
    champion = ModelVersion.objects.get(kind="image", status="champion")
    log(f"trained {version.algorithm} in {timings['train_s']} s; champion {champion}")

    truth = {row["sku"]: row["category"] for row in held}
    results, infer_seconds = {}, {}
    renamings = {"real names": lambda i, sku: held[i]["name"], **namings(rng)}
    for naming, rename in renamings.items():
        started = time.monotonic()
        if rename is None:  # the importer requires a name: emptied in the database
            Product.objects.filter(sku__in=list(truth)).update(name="")
        else:
            names = [rename(i, row["sku"]) for i, row in enumerate(held)]
            write_csv(workdir / "held.csv", held, with_category=False, names=names)
            call_command(
                "import_products",
                str(workdir / "held.csv"),
                "--images-dir",
                str(args.data),
                "--no-progress",
                verbosity=0,
                stdout=QUIET,
            )
        imported = time.monotonic() - started
        started = time.monotonic()
        call_command("infer", "image", "--wait", stdout=QUIET)
        infer_seconds[naming] = round(time.monotonic() - started, 1)
        call_command(
            "export_products", str(workdir / "export.csv"), verbosity=0, stdout=QUIET
        )
        results[naming] = scored(workdir / "export.csv", truth)
        log(
            f"{naming}: {results[naming]} (import {imported:.0f} s, infer "
            f"{infer_seconds[naming]} s)"
        )
    paths = [args.data / row["image"] for row in held]
    speed = throughput(paths, args.throughput_images)
    log(f"throughput: {speed}")
    print(
        json.dumps(
            {
                "data": str(args.data),
                "labelled": len(labelled),
                "held_out": len(held),
                "target_precision": args.target_precision,
                "served": champion.algorithm,
                "by_naming": results,
                "registry": {
                    "version": version.algorithm,
                    "status": version.status,
                    "metrics": version.metrics,
                    "baselines": version.baselines,
                    "components": version.protocol.get("components"),
                    "left_out": version.protocol.get("left_out"),
                    "split": {
                        k: version.protocol.get(k)
                        for k in ("train", "validation", "test", "categories")
                    },
                    "review_rules": version.hyperparameters.get("review_rules"),
                },
                "infer_s": infer_seconds,
                "throughput": speed,
                **timings,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
