"""A Celery worker for `bench_scale_out.py`: the project's worker, with the parts of
batch inference timed (as `bench_inference.py` times them in-process).

After every task it writes its cumulative seconds, by part and by task, as JSON to
the file named by SCALE_OUT_STATS. Started by `bench_scale_out.py`; not for serving.
"""

import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_inference  # noqa: E402

BUSY: dict[str, float] = defaultdict(float)
COUNT: dict[str, int] = defaultdict(int)
_started: dict[str, float] = {}


def instrument_more() -> None:
    """Also time the category chain's scoring, the key listing and the worker count."""
    import mlops.tasks
    import recommender.mlkind as mlkind
    from recommender.ml.category_chain import CategoryChain

    def timed(name, function):
        def wrapper(*args, **kwargs):
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                bench_inference.SECONDS[name] += time.perf_counter() - began

        return wrapper

    CategoryChain.score = timed("score", CategoryChain.score)
    kind = mlkind.RecommenderKind
    kind.inference_keys = timed("keys", kind.inference_keys)
    mlops.tasks.chunk_workers = timed("count_workers", mlops.tasks.chunk_workers)


def main() -> None:
    bench_inference.setup_django()
    bench_inference.instrument()
    instrument_more()
    from celery.signals import task_postrun, task_prerun

    from ecomsite.celery import app

    stats_path = Path(os.environ["SCALE_OUT_STATS"])

    @task_prerun.connect(weak=False)
    def began(task_id=None, **kwargs):
        _started[task_id] = time.perf_counter()

    @task_postrun.connect(weak=False)
    def ended(task_id=None, task=None, **kwargs):
        BUSY[task.name] += time.perf_counter() - _started.pop(task_id)
        COUNT[task.name] += 1
        stats = {"parts": bench_inference.SECONDS, "busy": BUSY, "tasks": COUNT}
        temporary = stats_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(stats))
        temporary.replace(stats_path)

    app.worker_main(sys.argv[1:])


if __name__ == "__main__":
    main()
