"""`make demo`'s model runs, through the worker's queue: each kind is trained, then
its inference runs, then the next kind's turn comes.

Every kind's training run is created up front, queued, so that each dashboard panel
says "training…" from the first page; each is handed to the worker in its turn. One
kind at a time, because inference chunks share the `gpu` queue with training: queued
behind every other kind's training, a quick model would serve only at the very end.
Runs not handed over when the script stops are marked failed (they would wait
forever). Exits 0 once every kind serves, 1 if a run failed. Usage:
scripts/demo_models.py [KIND ...] (default: every kind, the quick ones first).
"""

import os
import signal
import sys
import time
from pathlib import Path

POLL_SECONDS = 2.0
# Measured on the demo store: price, segments and image train in minutes, the
# recommender in a few more, the demand forecast takes longest.
QUICK_FIRST = ["price", "segments", "image", "recommender", "demand"]


def demo_kinds(kinds: list[str]) -> list[str]:
    from mlops.kinds import available_kinds

    unknown = sorted(set(kinds) - set(available_kinds()))
    if unknown:
        raise SystemExit(f"Unknown model kinds: {', '.join(unknown)}")
    return kinds or sorted(
        available_kinds(),
        key=lambda k: QUICK_FIRST.index(k) if k in QUICK_FIRST else len(QUICK_FIRST),
    )


def follow(run) -> bool:
    """Wait for a run to finish, reporting its changes of state; True if it succeeded."""
    from mlops.models import Run

    state = None
    while True:
        run.refresh_from_db()
        if run.state != state:
            state = run.state
            print(f"{run}: {run.message or run.error}", flush=True)
        if run.is_finished:
            return run.state == Run.State.SUCCEEDED
        time.sleep(POLL_SECONDS)


def main(kinds: list[str]) -> int:
    from mlops import tasks
    from mlops.models import Run
    from mlops.runs import run_fail, run_request

    planned = [Run.objects.create(kind=k, type=Run.Type.TRAIN) for k in kinds]
    waiting = {run.pk for run in planned}
    failed = []
    try:
        for training in planned:
            waiting.discard(training.pk)
            tasks.train_model.delay(training.pk)
            print(f"Started {training}.", flush=True)
            if not follow(training):
                failed.append(training.kind)
                continue
            if not follow(run_request(kind=training.kind, type=Run.Type.INFER)):
                failed.append(training.kind)
    finally:
        for pk in waiting:
            run_fail(pk, "make demo stopped before this run started.")
    if failed:
        print(f"Failed: {', '.join(failed)} (see the runs in the admin).", flush=True)
        return 1
    print("Every model serves.", flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    # Stopped by make demo's Ctrl-C: unwind, so that the planned runs are closed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    import django

    django.setup()
    sys.exit(main(demo_kinds(sys.argv[1:])))
