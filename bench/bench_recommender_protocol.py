"""Recommendations on real and ratings-style order files, as an operator runs them.

    DATABASE_URL=sqlite:////tmp/rp.sqlite3 VAR_DIR=/tmp/rp-var \\
        .venv/bin/python bench/bench_recommender_protocol.py SOURCE \\
        [--data ../shared/data] [--lines 100000]

SOURCE is `dunnhumby` (Complete Journey transactions converted to the generic order
format), `online-retail` (the Online Retail sample, its own format) or
`ratings-style` (a GENERATED ratings-style file: see tests/recommender/ratings_style).
The (fresh) database is migrated, then: `import_orders` → the `recommender` training
run → batch inference → `export_recommendations`. Reports every model's figures in
the documented protocol (last basket held out, history strictly before it), the
cold-start part, the repeat policy used, and the served model over the best of
popularity, item-kNN, EASE and ALS.

For `ratings-style`, each customer's last line is kept back before the import, as
one would check any shop's file: the exported lists are scored on the kept-back lines
next to EASE and popularity trained on the same imported lines with standard
whole-history leave-one-out (EASE's L2 chosen on the kept-back lines themselves, a
generous bound). One JSON line on stdout.
"""

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GOAL_BASELINES = ("popularity", "item-knn", "ease", "als")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def prepare(source: str, data: Path, workdir: Path, lines: int):
    """Return (orders file, import format, kept-back {customer: sku} or None)."""
    if source == "dunnhumby":
        sys.path.insert(0, str(ROOT / "bench"))
        import bench_generic_orders

        bench_generic_orders.DATA = (
            data / "dunnhumby-complete-journey" / ("transactions.csv")
        )
        path = workdir / "orders.csv"
        bench_generic_orders.convert(path)
        return path, "generic", None
    if source == "online-retail":
        path = data / "online-retail-sample" / "online_retail_sample.csv"
        return path, "online-retail", None
    from tests.recommender.ratings_style import (
        RatingsStyle,
        keep_back_last_lines,
        ratings_style_lines,
        write_orders,
    )

    rows = ratings_style_lines(RatingsStyle(lines=lines))
    imported, kept_back = keep_back_last_lines(rows)
    path = workdir / "orders.csv"
    write_orders(path, imported)
    return path, "generic", {f"U{c}": f"ITEM-{i}" for c, i in kept_back.items()}


def exported_lists(path: Path) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            lists.setdefault(row["customer_id"], []).append(row["sku"])
    return lists


def single_target(lists: dict[str, list[str]], kept_back: dict[str, str]) -> dict:
    """ndcg@10 and hr@10 of ranked lists against one kept-back item per customer."""
    gains, hits = [], []
    for customer, target in kept_back.items():
        ranked = lists.get(customer, [])[:10]
        rank = ranked.index(target) if target in ranked else None
        gains.append(0.0 if rank is None else 1.0 / np.log2(rank + 2))
        hits.append(rank is not None)
    return {
        "ndcg@10": round(float(np.mean(gains)), 6),
        "hr@10": round(float(np.mean(hits)), 6),
        "customers": len(kept_back),
    }


def whole_history_baselines(kept_back: dict[str, str]) -> dict:
    """EASE and popularity on every imported line, each customer's full history."""
    from django.contrib.auth import get_user_model

    from recommender.ml.neighbours import EASE
    from recommender.ml.protocol import SeenItems, fast_top_k
    from recommender.training_data import training_frame

    customers = list(
        get_user_model()
        .objects.exclude(external_id="")
        .order_by("pk")
        .values_list("pk", "external_id")
    )
    frame = training_frame(customer_ids=[pk for pk, _ in customers])
    data = frame.interactions
    external = [e for _, e in customers]
    sku = dict(_skus(frame.product_ids))
    position = {e: i for i, e in enumerate(external)}
    held = [(position[c], s) for c, s in kept_back.items() if c in position]
    user_index = np.array([u for u, _ in held])
    seen = SeenItems(data).mask(user_index)
    results = {}

    def measure(scores):
        ranked = fast_top_k(np.asarray(scores, np.float64), 10, seen)
        lists = {
            external[u]: [sku[int(frame.product_ids[i])] for i in row]
            for u, row in zip(user_index, ranked, strict=True)
        }
        return single_target(lists, kept_back)

    counts = np.bincount(data.item, minlength=data.n_items).astype(float)
    results["popularity"] = measure(
        np.broadcast_to(counts, (len(user_index), len(counts)))
    )
    best = None
    for l2 in (50.0, 100.0, 500.0, 1000.0):
        metrics = measure(EASE(l2=l2).fit(data).score(data, user_index)) | {"l2": l2}
        if best is None or metrics["ndcg@10"] > best["ndcg@10"]:
            best = metrics
    results["ease"] = best
    return results


def _skus(product_ids):
    from catalog.models import Product

    return Product.objects.filter(pk__in=product_ids.tolist()).values_list("pk", "sku")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "source", choices=["dunnhumby", "online-retail", "ratings-style"]
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--options", default="{}", help="training options (JSON)")
    args = parser.parse_args()
    needed = {
        "dunnhumby": args.data / "dunnhumby-complete-journey" / "transactions.csv",
        "online-retail": args.data
        / "online-retail-sample"
        / "online_retail_sample.csv",
    }.get(args.source)
    if needed is not None and not needed.exists():
        print(json.dumps({"skipped": f"{needed} not found"}))
        return 0
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.core.management import call_command

    from mlops.models import ModelVersion, Run
    from mlops.runs import run_request

    call_command("migrate", verbosity=0)
    workdir = Path(tempfile.mkdtemp(prefix="recommender-protocol-"))
    seconds = {}

    def timed(name, action):
        started = time.monotonic()
        value = action()
        seconds[name] = round(time.monotonic() - started, 1)
        log(f"{name}: {seconds[name]} s")
        return value

    orders, fmt, kept_back = timed(
        "prepare", lambda: prepare(args.source, args.data, workdir, args.lines)
    )
    timed(
        "import",
        lambda: call_command(
            "import_orders", str(orders), "--format", fmt, "--no-progress"
        ),
    )
    runs = {}
    for run_type in (Run.Type.TRAIN, Run.Type.INFER):
        run = timed(
            run_type,
            lambda t=run_type: run_request(
                kind="recommender", type=t, options=json.loads(args.options)
            ),
        )
        run.refresh_from_db()
        if run.state != Run.State.SUCCEEDED:
            print(json.dumps({"error": f"{run_type}: {run.error}"}))
            return 1
        runs[run_type] = run
    export = workdir / "recommendations.csv"
    timed("export", lambda: call_command("export_recommendations", str(export)))
    version = ModelVersion.objects.get(run=runs[Run.Type.TRAIN])
    served = ModelVersion.objects.get(kind="recommender", status="champion")
    protocol = version.protocol
    models = {**protocol.get("trained_models", {}), **version.baselines}
    best = max(GOAL_BASELINES, key=lambda name: models[name]["ndcg@10"])
    ratio = served.metrics["ndcg@10"] / max(models[best]["ndcg@10"], 1e-12)
    output = {
        "source": args.source,
        "generated": args.source == "ratings-style",
        "served": served.algorithm,
        "served_metrics": served.metrics,
        "models": models,
        "best_goal_baseline": best,
        "served_over_best_baseline": round(ratio, 4),
        "goal_1_10_met": ratio >= 1.10,
        "protocol": {
            k: v
            for k, v in protocol.items()
            if k not in ("trained_models", "held_out", "metrics", "exclude_history")
        },
        "infer_message": runs[Run.Type.INFER].message,
        "exported_rows": sum(1 for _ in export.open()) - 1,
        "seconds": seconds,
    }
    if kept_back is not None:
        lists = exported_lists(export)
        served_kept = single_target(lists, kept_back)
        whole = whole_history_baselines(kept_back)
        output["kept_back_lines"] = {
            "served_export": served_kept,
            **{f"{k}_whole_history": v for k, v in whole.items()},
            "served_over_ease": round(
                served_kept["ndcg@10"] / max(whole["ease"]["ndcg@10"], 1e-12), 4
            ),
        }
    print(json.dumps(output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
