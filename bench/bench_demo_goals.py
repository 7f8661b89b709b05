"""The demo store's goals, through the platform: recommendations and demand forecasts.

    DATABASE_URL=sqlite:////tmp/demo-goals.sqlite3 VAR_DIR=/tmp/demo-goals-var \\
        .venv/bin/python bench/bench_demo_goals.py [--seed 7] [--kinds recommender demand]

Writes the default demo store (`generate_demo_store --seed N --no-images`) into the
(migrated, empty) database named by DATABASE_URL and runs each kind's training as an
operator's `train KIND` does (in-process, eager Celery). Reports what serves, its
metrics and every baseline's, with the goals of the recommendation and forecasting
issues: the served recommender's ndcg@10 at least 1.10 × the best baseline's; the
served demand forecast's MASE at most 0.85 × seasonal naive's and below exponential
smoothing's, its P10–P90 coverage in 75–85 %. For coverage it also reports what an
oracle gets: a Poisson forecast at each product's own mean over the held-back days
(the ceiling a calibrated forecast of such sparse daily sales can reach). One JSON line.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def train(kind: str) -> dict:
    from mlops.models import ModelVersion, Run
    from mlops.runs import run_request

    started = time.monotonic()
    run = run_request(kind=kind, type=Run.Type.TRAIN, options={})
    run.refresh_from_db()
    seconds = round(time.monotonic() - started, 1)
    log(f"{kind}: {run.state} in {seconds} s")
    if run.state != Run.State.SUCCEEDED:
        return {"error": run.error, "train_s": seconds}
    trained = ModelVersion.objects.get(run=run)
    served = ModelVersion.objects.get(kind=kind, status=ModelVersion.Status.CHAMPION)
    return {
        "train_s": seconds,
        "served": served.algorithm,
        "served_metrics": served.metrics,
        "model": trained.algorithm,
        "metrics": trained.metrics,
        "baselines": trained.baselines,
        "protocol": {
            k: v
            for k, v in trained.protocol.items()
            if k
            in (
                "trained_models",
                "test_customers",
                "cold_start_customers",
                "cold_start",
                "basket",
                "history_removed_share",
                "repeat_purchase",
                "holdout_periods",
                "series",
                "ensembles",
                "deep_model_vs_best_peer",
                "not_forecast",
            )
        },
    }


def recommender_goal(result: dict) -> dict:
    """The served model over the best baseline, and over the best of the four the
    goal names (popularity, item-kNN, EASE, ALS)."""
    served = result["served_metrics"]["ndcg@10"]
    best = max(result["baselines"].items(), key=lambda item: item[1]["ndcg@10"])
    named = {
        k: v
        for k, v in result["baselines"].items()
        if k in ("popularity", "item-knn", "ease", "als")
    }
    best_named = max(named.items(), key=lambda item: item[1]["ndcg@10"])
    ratio = served / best_named[1]["ndcg@10"]
    return {
        "best_baseline": best[0],
        "served_over_best_baseline": round(served / best[1]["ndcg@10"], 4),
        "best_named_baseline": best_named[0],
        "served_over_best_named_baseline": round(ratio, 4),
        "met": ratio >= 1.10,
    }


def demand_goal(result: dict) -> dict:
    served, baselines = result["served_metrics"], result["baselines"]
    naive = baselines["seasonal-naive"]["mase"]
    smoothing = baselines["exponential-smoothing"]["mase"]
    coverage = served["coverage_p10_p90"]
    boosting = baselines["gradient-boosting"]["mase"]
    return {
        "mase_over_gradient_boosting": round(served["mase"] / boosting, 4),
        "beats_gradient_boosting": served["mase"] < boosting,
        "mase_over_seasonal_naive": round(served["mase"] / naive, 4),
        "mase_below_exponential_smoothing": served["mase"] < smoothing,
        "coverage_p10_p90": coverage,
        "coverage_in_75_85": 0.75 <= coverage <= 0.85,
        **oracle_coverage(),
    }


def oracle_coverage() -> dict:
    """P10–P90 coverage of a Poisson forecast at each product's held-back mean."""
    from scipy import stats

    from forecasting.history import (
        DEFAULT_HORIZON,
        TRAINING_PERIODS,
        history_end,
        history_frequency,
        sales_panel,
    )
    from forecasting.ml.evaluation import origin_panels
    from forecasting.ml.metrics import coverage

    frequency = history_frequency()
    horizon = DEFAULT_HORIZON[frequency]
    panel = sales_panel(
        frequency=frequency,
        end=history_end(frequency),
        horizon=horizon,
        periods=TRAINING_PERIODS[frequency],
    ).panel
    _, actual, censored, _ = next(origin_panels(panel, horizon, 1))
    known = ~np.isnan(actual) & ~censored
    units = np.where(known, np.nan_to_num(actual), 0.0)
    rate = units.sum(axis=1) / np.maximum(known.sum(axis=1), 1)
    band = [stats.poisson(rate).ppf(q)[:, None].repeat(horizon, 1) for q in (0.1, 0.9)]
    oracle = np.stack([band[0], rate[:, None].repeat(horizon, 1), band[1]], axis=-1)
    return {
        "held_back_zero_share": round(float((units[known] == 0).mean()), 4),
        "units_per_product_period": round(float(units[known].mean()), 4),
        "oracle_poisson_coverage_p10_p90": round(coverage(actual, oracle, censored), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--kinds", nargs="+", default=["recommender", "demand"], choices=GOALS
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.core.management import call_command

    started = time.monotonic()
    call_command("generate_demo_store", "--seed", str(args.seed), "--no-images")
    output = {"seed": args.seed, "store_s": round(time.monotonic() - started, 1)}
    for kind in args.kinds:
        result = train(kind)
        if "error" not in result:
            result["goal"] = GOALS[kind](result)
        output[kind] = result
    print(json.dumps(output))
    return 0 if all("error" not in output[kind] for kind in args.kinds) else 1


GOALS = {"recommender": recommender_goal, "demand": demand_goal}

if __name__ == "__main__":
    sys.exit(main())
