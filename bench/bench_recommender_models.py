"""Compare every "for you" model with one protocol, on a store's purchases.

    DATABASE_URL=sqlite:////tmp/r1_demo.sqlite3 VAR_DIR=/tmp/r1-var \
        .venv/bin/python bench/bench_recommender_models.py --label demo
    .venv/bin/python bench/bench_recommender_models.py --synthetic-scale

Reads purchases with `recommender.training_data.training_frame` from the database named by
DATABASE_URL (generate it first: `migrate`, then `generate_demo_store` or
`import_orders`). Each model is tuned on the validation item (second-to-last purchase)
only, refit on everything before the test item and measured on it with
`recommender.ml.protocol.evaluate`: full catalogue, history excluded unless `--repeat`.
Prints progress to stderr and one JSON line to stdout: each model's metrics, training
seconds (the refit) and chosen parameters, the best baseline and the winner.

`--synthetic-scale` times only SASRec training on numpy-made data (100,000 customers,
10,000 items, 2,000,000 interactions by default), no database.
"""

import argparse
import json
import os
import sys
import time
from itertools import product as grid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# The platform's baselines (recommender/mlkind.py); SASRec and the category chain are
# the trained candidates.
BASELINES = ("recent-popularity", "category-popularity", "item-knn", "ease")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_data(events: bool):
    """Return (frame, split, purchases-only filter for history exclusion or None)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from recommender.ml.protocol import leave_last_out
    from recommender.training_data import leave_last_purchases_out, training_frame

    frame = training_frame()
    if not events:
        return frame, leave_last_out(frame.purchases()), None
    return frame, leave_last_purchases_out(frame), lambda h: h.take(h.weight >= 1)


def candidates(frame, args):
    """Yield (name, list of (params, factory)) per model family."""
    from recommender.ml.category_chain import CategoryChain
    from recommender.ml.neighbours import EASE, ItemKNN
    from recommender.ml.popularity import CategoryPopularity, RecentPopularity
    from recommender.ml.sasrec import SASRec

    yield (
        "recent-popularity",
        [({"half_life_days": h}, lambda h=h: RecentPopularity(h)) for h in (7, 30, 90)],
    )
    yield (
        "category-popularity",
        [
            (
                {"half_life_days": h, "global_weight": w},
                lambda h=h, w=w: CategoryPopularity(
                    item_category=frame.product_category,
                    n_categories=len(frame.category_ids),
                    half_life_days=h,
                    global_weight=w,
                ),
            )
            for h, w in grid((7, 30, 90), (0.05, 0.2, 0.5))
        ],
    )
    yield (
        "category-chain",
        [
            (
                {"half_life_days": h, "browse_weight": b, "l2": l2},
                lambda h=h, b=b, l2=l2: CategoryChain(
                    item_category=frame.product_category,
                    n_categories=len(frame.category_ids),
                    half_life_days=h,
                    browse_weight=b,
                    l2=l2,
                    seed=args.seed,
                ),
            )
            for h, b, l2 in grid(
                args.chain_half_lives, args.chain_browse_weights, args.chain_l2
            )
        ],
    )
    yield (
        "item-knn",
        [
            ({"k": k, "shrink": s}, lambda k=k, s=s: ItemKNN(k=k, shrink=s))
            for k, s in grid((50, 200), (0.0, 10.0))
        ],
    )
    yield (
        "ease",
        [({"l2": lam}, lambda lam=lam: EASE(l2=lam)) for lam in (1, 10, 50, 200, 1000)],
    )
    sasrec = [
        dict(zip(("dropout", "max_len", "dim", "side_info"), v, strict=True))
        for v in grid(args.dropouts, args.max_lens, args.dims, args.side_info)
    ]
    yield (
        "sasrec",
        [
            (
                {**p, "blocks": args.blocks, "lr": args.lr},
                lambda p=p: SASRec(
                    dim=p["dim"],
                    blocks=args.blocks,
                    heads=args.heads,
                    max_len=p["max_len"],
                    dropout=p["dropout"],
                    learning_rate=args.lr,
                    weight_decay=args.weight_decay,
                    epochs=args.epochs,
                    patience=args.patience,
                    batch_size=args.batch_size,
                    seed=args.seed,
                    n_categories=0
                    if p["side_info"] == "none"
                    else len(frame.category_ids),
                    item_category=frame.product_category,
                    item_bias=p["side_info"] == "category+bias",
                ),
            )
            for p in sasrec
        ],
    )


def compare(frame, split, purchases_of, args) -> dict:
    from recommender.ml.protocol import evaluate

    data = frame.interactions
    log(
        f"{data.n_users} customers, {data.n_items} items, {len(data.user)} purchases, "
        f"{len(split.test_users)} test customers"
    )

    def measure(model, history, users, items):
        if args.repeat or purchases_of is None:
            return evaluate(
                model.score, history, users, items, repeat_purchase=args.repeat
            )
        # with browsing in the history, only what was bought is left out (as served)
        from recommender.mlkind import without_purchased

        score = without_purchased(model.score)
        return evaluate(score, history, users, items, repeat_purchase=True)

    results = {}
    models = {}  # name: (the chosen model fitted for validation, refitted for test)
    for name, configs in candidates(frame, args):
        if args.only and name not in args.only:
            continue
        best = None
        for params, make in configs:
            started = time.perf_counter()
            model = make().fit(split.train)
            fit_s = time.perf_counter() - started
            val = measure(
                model, split.train, split.validation_users, split.validation_items
            )
            log(f"{name} {params}: validation {val} ({fit_s:.1f}s)")
            if best is None or val["ndcg@10"] > best[1]["ndcg@10"]:
                best = (params, val, make, model)
        params, val, make, val_model = best
        started = time.perf_counter()
        model = make().fit(split.train_plus_validation)
        train_s = time.perf_counter() - started
        test = measure(
            model, split.train_plus_validation, split.test_users, split.test_items
        )
        extra = {}
        if name == "sasrec":
            result = model.fit_result
            extra = {"epochs_run": result.epochs_run, "best_epoch": result.best_epoch}
        results[name] = {
            **test,
            "train_s": round(train_s, 2),
            "params": params,
            "validation_ndcg@10": val["ndcg@10"],
            **extra,
        }
        log(f"{name} test {results[name]}")
        models[name] = (val_model, model)
    if {"category-chain", "sasrec"} <= models.keys():
        results["chain+sasrec"] = blend(models, split, measure, args)
    baselines = {k: v for k, v in results.items() if k in BASELINES}
    best_baseline = max(baselines, key=lambda k: baselines[k]["ndcg@10"], default=None)
    winner = max(results, key=lambda k: results[k]["ndcg@10"], default=None)
    summary = {
        "label": args.label,
        "customers": int(data.n_users),
        "items": int(data.n_items),
        "purchases": int(len(data.user)),
        "test_customers": int(len(split.test_users)),
        "exclude_history": not args.repeat,
        "training_data": "purchases + events" if args.events else "purchases",
        "models": results,
        "best_baseline": best_baseline,
        "winner": winner,
    }
    if best_baseline and "sasrec" in results:
        base = results[best_baseline]["ndcg@10"]
        summary["sasrec_vs_best_baseline"] = (
            round(results["sasrec"]["ndcg@10"] / base - 1, 4) if base else None
        )
    for name in ("category-chain", "chain+sasrec"):
        if best_baseline and name in results:
            base = results[best_baseline]["ndcg@10"]
            summary[f"{name}_vs_best_baseline"] = round(
                results[name]["ndcg@10"] / base - 1, 4
            )
    if "category-popularity" in results and "sasrec" in results:
        base = results["category-popularity"]["ndcg@10"]
        summary["sasrec_vs_category_popularity"] = (
            round(results["sasrec"]["ndcg@10"] / base - 1, 4) if base else None
        )
    return summary


def blend(models, split, measure, args) -> dict:
    """A log-space blend of the chain (log-probabilities) and SASRec (log-softmax of
    its logits), the SASRec weight chosen on validation, then measured on test."""

    def blended(chain, sasrec, weight):
        def score(history, users):
            logits = np.asarray(sasrec.score(history, users), np.float64)
            logits -= logits.max(axis=1, keepdims=True)
            log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            return (1 - weight) * chain.score(history, users) + weight * log_p

        return type("Blend", (), {"score": staticmethod(score)})()

    (chain_val, chain_test), (sasrec_val, sasrec_test) = (
        models["category-chain"],
        models["sasrec"],
    )
    best = None
    for weight in args.blend_weights:
        val = measure(
            blended(chain_val, sasrec_val, weight),
            split.train,
            split.validation_users,
            split.validation_items,
        )
        log(f"chain+sasrec weight {weight}: validation {val}")
        if best is None or val["ndcg@10"] > best[1]["ndcg@10"]:
            best = (weight, val)
    weight, val = best
    test = measure(
        blended(chain_test, sasrec_test, weight),
        split.train_plus_validation,
        split.test_users,
        split.test_items,
    )
    result = {
        **test,
        "params": {"sasrec_weight": weight},
        "validation_ndcg@10": val["ndcg@10"],
    }
    log(f"chain+sasrec test {result}")
    return result


def synthetic(args) -> dict:
    """Time SASRec training on numpy-made sequences (Zipf items, drifting tastes)."""
    sys.path.insert(0, str(ROOT))
    from mlops.ml.device import setup_device
    from recommender.ml.protocol import Interactions
    from recommender.ml.sasrec import SASRec

    device = setup_device(seed=args.seed)
    rng = np.random.default_rng(args.seed)
    n_users, n_items, n = args.users, args.items, args.interactions
    user = np.sort(rng.integers(0, n_users, n))
    # Each customer walks around the catalogue: next item near the previous one.
    steps = rng.integers(-20, 21, n)
    start = rng.zipf(1.3, n_users) % n_items
    walk = np.cumsum(steps)
    first = np.searchsorted(user, user)  # each row's user's first row
    item = (start[user] + walk - walk[first]) % n_items
    day = np.arange(n) % 365
    data = Interactions(user, item.astype(np.int64), day, n_users, n_items)
    model = SASRec(
        dim=args.dims[0],
        blocks=args.blocks,
        heads=args.heads,
        max_len=args.max_lens[0],
        dropout=args.dropouts[0],
        learning_rate=args.lr,
        epochs=args.epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    log(f"SASRec on {n_users} users, {n_items} items, {n} interactions; {device}")
    started = time.perf_counter()
    model.fit(data, progress=lambda p: log(f"{p.percent}% {p.message}"))
    seconds = time.perf_counter() - started
    result = model.fit_result
    return {
        "label": "synthetic-scale",
        "customers": n_users,
        "items": n_items,
        "interactions": n,
        "device": str(device),
        "config": {
            "dim": model.dim,
            "blocks": model.blocks,
            "heads": model.heads,
            "max_len": model.max_len,
            "batch_size": model.batch_size,
            "epochs_max": model.epochs,
        },
        "epochs_run": result.epochs_run,
        "train_s": round(seconds, 1),
        "s_per_epoch": round(seconds / result.epochs_run, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--label", default="store")
    parser.add_argument("--repeat", action="store_true", help="keep history items")
    parser.add_argument("--only", nargs="*", help="model families to run")
    parser.add_argument(
        "--events",
        action="store_true",
        help="train on purchases plus views and cart adds (weighted), "
        "recommender.training_data; still measured on purchases",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dims", type=int, nargs="+", default=[64])
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--heads", type=int, default=1)
    parser.add_argument("--max-lens", type=int, nargs="+", default=[50])
    parser.add_argument("--dropouts", type=float, nargs="+", default=[0.2, 0.3])
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--side-info",
        choices=["none", "category", "category+bias"],
        nargs="+",
        default=["none"],
        help="SASRec variants: category embeddings, per-item logit bias",
    )
    parser.add_argument("--chain-half-lives", type=float, nargs="+", default=[30, 90])
    parser.add_argument(
        "--chain-browse-weights", type=float, nargs="+", default=[1.0, 3.0]
    )
    parser.add_argument("--chain-l2", type=float, nargs="+", default=[0.3, 3.0])
    parser.add_argument(
        "--blend-weights",
        type=float,
        nargs="+",
        default=[0.0, 0.1, 0.2, 0.3, 0.5, 0.7],
        help="SASRec's weight in the chain+sasrec blend (chosen on validation)",
    )
    parser.add_argument("--synthetic-scale", action="store_true")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--interactions", type=int, default=2_000_000)
    args = parser.parse_args()
    if args.synthetic_scale:
        print(json.dumps(synthetic(args)), flush=True)
        return
    frame, split, purchases_of = load_data(args.events)
    from mlops.ml.device import setup_device

    setup_device(seed=args.seed)
    print(json.dumps(compare(frame, split, purchases_of, args)), flush=True)


if __name__ == "__main__":
    main()
