"""Measure what the ML platform adds to a `recommender` training run.

    createdb -h 127.0.0.1 -U postgres bench_overhead
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_overhead \
        VAR_DIR=/tmp/bench-var .venv/bin/python bench/bench_platform_overhead.py

Loads a mid-size synthetic store (the one of bench_inference.py, skipped when it is
already there), then times the same training, alternately:

(a) direct: `RecommenderKind().train(TrainContext(...))` with a no-op progress sink
    and log, and nothing else;
(b) platform: a Run and `mlops.services.training_execute` (claim, device set-up,
    progress and log to the database, artifact write, registry, champion gate).

The platform's own part is also timed inside each platform run (everything outside
the kind's train(), plus the progress and log writes made from inside it).

One platform run first warms up the process (imports, first device set-up) and makes
the champion; from then on both (a) and (b) train with that champion, so that both do
the same model work (the kind re-measures the champion on the run's held-out data).
Prints one JSON line: the median of `--repeat` runs of each and the overhead percent.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_inference as common  # noqa: E402


def direct_train(champion) -> float:
    from django.conf import settings

    from mlops.kinds import TrainContext
    from recommender.mlkind import RecommenderKind

    context = TrainContext(
        seed=settings.MLOPS_SEED,
        progress=lambda progress: None,
        log=lambda line: None,
        options={},
        champion=champion,
    )
    began = time.perf_counter()
    RecommenderKind().train(context)
    return time.perf_counter() - began


def platform_train() -> float:
    from mlops.models import ModelKind, Run
    from mlops.services import training_execute

    PARTS.clear()
    began = time.perf_counter()
    run = Run.objects.create(kind=ModelKind.RECOMMENDER, type=Run.Type.TRAIN)
    version = training_execute(run.pk)
    seconds = time.perf_counter() - began
    if version is None:
        raise SystemExit(f"run {run.pk} did not register a version")
    return seconds


PARTS: dict[str, float] = {}


def instrument() -> None:
    """Time the kind's train() and the progress/log writes made from inside it."""
    from mlops.runs import RunReporter
    from recommender.mlkind import RecommenderKind

    def timed(name, function):
        def wrapper(*args, **kwargs):
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                PARTS[name] = PARTS.get(name, 0.0) + time.perf_counter() - began

        return wrapper

    RecommenderKind.train = timed("train", RecommenderKind.train)
    RunReporter.__call__ = timed("reporting", RunReporter.__call__)
    RunReporter.log = timed("reporting", RunReporter.log)


def platform_own_seconds(total: float) -> float:
    """Return the platform's own time in a run: outside train() plus its reporting."""
    return total - PARTS.get("train", 0.0) + PARTS.get("reporting", 0.0)


def champion_artifact():
    from mlops.kinds import ChampionArtifact
    from mlops.models import ModelKind, ModelVersion
    from mlops.registry import artifact_read

    champion = ModelVersion.objects.get(
        kind=ModelKind.RECOMMENDER, status=ModelVersion.Status.CHAMPION
    )
    return ChampionArtifact(
        champion.algorithm, artifact_read(champion), champion.hyperparameters
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    common.require_postgres()
    os.environ.setdefault("VAR_DIR", "/tmp/bench-var")
    common.setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, skip_checks=True)
    shape = {"customers": args.customers, "products": args.products}
    shape["lines"] = args.lines
    if common.store_present(**shape):
        common.log("store already there; setup skipped")
    elif common.store_exists_partially():
        common.log("a bench store of another size is here: use a fresh database")
        sys.exit(2)
    else:
        common.build_store(**shape, seed=args.seed)

    instrument()
    warm = platform_train()
    common.log(f"warm-up platform run: {warm:.2f}s")
    champion = champion_artifact()
    direct, platform, own = [], [], []
    for attempt in range(1, args.repeat + 1):
        for mode in ("direct", "platform") if attempt % 2 else ("platform", "direct"):
            if mode == "direct":
                direct.append(direct_train(champion))
            else:  # alternate the order so that neither always runs first
                platform.append(platform_train())
                own.append(platform_own_seconds(platform[-1]))
        common.log(
            f"repeat {attempt}: direct {direct[-1]:.2f}s, platform {platform[-1]:.2f}s"
            f" (platform's own part {own[-1]:.3f}s)"
        )
    direct_s = statistics.median(direct)
    platform_s = statistics.median(platform)
    own_s = statistics.median(own)
    print(
        json.dumps(
            {
                "bench": "platform_overhead",
                **shape,
                "repeat": args.repeat,
                "direct_s": round(direct_s, 3),
                "platform_s": round(platform_s, 3),
                "overhead_s": round(platform_s - direct_s, 3),
                "overhead_pct": round(100 * (platform_s - direct_s) / direct_s, 2),
                # measured inside the platform runs: less noisy than the difference
                "platform_own_s": round(own_s, 3),
                "platform_own_pct": round(100 * own_s / direct_s, 2),
                "direct_runs_s": [round(s, 3) for s in direct],
                "platform_runs_s": [round(s, 3) for s in platform],
                "warmup_platform_s": round(warm, 3),
                "target_pct": 5,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
