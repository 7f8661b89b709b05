"""`make demo`'s model runs: queue every kind's training, then each kind's inference as
soon as its own training has succeeded, all through the worker's queue.

One process for every kind (each Django process costs seconds of CPU on a small
machine). It reports each run's changes of state and exits once every kind has run
its inference (status 0) or a run failed (status 1). Usage: scripts/demo_models.py
[KIND ...] (default: every kind).
"""

import os
import sys
import time
from pathlib import Path

POLL_SECONDS = 2.0
# The worker takes runs in turn: the quick kinds first, so that the dashboard's panels
# fill in one after the other (measured on the demo store: price, segments and image
# train in under five minutes together, the demand forecast takes longest).
QUICK_FIRST = ["price", "segments", "image", "recommender", "demand"]


def main(kinds: list[str]) -> int:
    from mlops.kinds import available_kinds
    from mlops.models import Run
    from mlops.runs import run_request

    kinds = kinds or sorted(
        available_kinds(),
        key=lambda k: QUICK_FIRST.index(k) if k in QUICK_FIRST else len(QUICK_FIRST),
    )
    unknown = sorted(set(kinds) - set(available_kinds()))
    if unknown:
        print(f"Unknown model kinds: {', '.join(unknown)}", file=sys.stderr)
        return 2
    runs = {
        (k, Run.Type.TRAIN): run_request(kind=k, type=Run.Type.TRAIN) for k in kinds
    }
    for run in runs.values():
        print(f"Queued {run}.", flush=True)
    seen: dict[int, str] = {}
    failed: set[str] = set()
    while True:
        for (kind, type_), run in list(runs.items()):
            run.refresh_from_db()
            if seen.get(run.pk) != run.state:
                seen[run.pk] = run.state
                print(f"{run}: {run.message or run.error}", flush=True)
            if run.state == Run.State.FAILED:
                failed.add(kind)
            elif (
                type_ == Run.Type.TRAIN
                and run.state == Run.State.SUCCEEDED
                and (kind, Run.Type.INFER) not in runs
            ):
                infer = run_request(kind=kind, type=Run.Type.INFER)
                runs[kind, Run.Type.INFER] = infer
                print(f"Queued {infer}.", flush=True)
        served = {
            kind
            for (kind, type_), run in runs.items()
            if type_ == Run.Type.INFER and run.state == Run.State.SUCCEEDED
        }
        if served | failed >= set(kinds):
            print(
                "Every model serves."
                if not failed
                else f"Failed: {', '.join(sorted(failed))} (see the runs in the admin).",
                flush=True,
            )
            return 1 if failed else 0
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    import django

    django.setup()
    sys.exit(main(sys.argv[1:]))
