"""Batch inference of the `recommender` kind with 1 and with 2 worker processes.

    createdb -h 127.0.0.1 -U postgres bench_scale
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_scale \
        .venv/bin/python bench/bench_scale_out.py --redis redis://127.0.0.1:6379/6

Builds (or reuses) the synthetic store of `bench_inference.py` and trains its
champion once, then for each worker count starts that many real `celery worker`
processes (one process each, prefork pool of 1, Redis broker, PostgreSQL), sends one
`start_inference` task as the platform does (chunk size chosen from the workers that
answer and the catalogue size, unless --chunk-size), and waits for the run to finish.
Prints one JSON line per run: wall time, the chunk plan, the time each worker spent in
tasks and, summed over the workers, in each part of a chunk (history, scoring, ranking,
reasons, database write, finalize); `idle_s` is worker time in no task (waiting for the
broker or for the other worker's last chunk). The first run of each worker count loads
the model in each worker; later runs are warm.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_inference as bi

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("history", "score", "rank", "reasons", "write", "finalize", "infer_chunk")


class BenchWorker:
    """One `celery worker` process (pool of 1) with timed inference parts."""

    def __init__(self, name: str, redis_url: str, folder: Path):
        self.stats = folder / f"{name}.json"
        self.log = folder / f"{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ecomsite.settings.local",
            "CELERY_BROKER_URL": redis_url,
            "SCALE_OUT_STATS": str(self.stats),
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable,
            str(ROOT / "bench" / "scale_out_worker.py"),
            "worker",
            "-Q",
            "gpu,default",
            "--concurrency",
            "1",
            "--prefetch-multiplier",
            "1",
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"worker exited:\n{self.log.read_text()[-3000:]}")
        return " ready." in self.log.read_text()

    def snapshot(self) -> dict:
        if not self.stats.exists():
            return {"parts": {}, "busy": {}, "tasks": {}}
        return json.loads(self.stats.read_text())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def difference(after: dict, before: dict) -> dict:
    return {k: v - before.get(k, 0) for k, v in after.items()}


def run_inference(redis_url: str, workers: list[BenchWorker], options: dict) -> dict:
    """Send one batch inference to the workers; return its measures."""
    from celery import Celery

    from mlops.models import ModelKind, Run, ServedBatch

    before = [w.snapshot() for w in workers]
    run = Run.objects.create(
        kind=ModelKind.RECOMMENDER, type=Run.Type.INFER, options=options
    )
    sender = Celery(broker=redis_url, set_as_current=False)
    began = time.perf_counter()
    sender.send_task("mlops.tasks.start_inference", args=[run.pk], queue="default")
    while not Run.objects.get(pk=run.pk).is_finished:
        time.sleep(0.1)
    wall = time.perf_counter() - began
    _wait_for_stats(workers, before, ServedBatch.objects.get(run=run).total_chunks)
    run.refresh_from_db()
    batch = ServedBatch.objects.get(run=run)
    after = [w.snapshot() for w in workers]
    busy = [
        difference(a["busy"], b["busy"]) for a, b in zip(after, before, strict=True)
    ]
    tasks = [
        difference(a["tasks"], b["tasks"]) for a, b in zip(after, before, strict=True)
    ]
    parts = dict.fromkeys(PARTS, 0.0)
    for a, b in zip(after, before, strict=True):
        for name, seconds in difference(a["parts"], b["parts"]).items():
            parts[name] = parts.get(name, 0.0) + seconds
    worker_busy = [sum(b.values()) for b in busy]
    chunk_keys = [len(c.keys) for c in batch.chunks.only("keys")]
    customers = sum(
        sum(1 for group, _ in chunk.keys if group == "c")
        for chunk in batch.chunks.only("keys")
    )
    measured = ("history", "score", "rank", "reasons", "write")
    return {
        "bench": "scale_out_inference",
        "workers": len(workers),
        "run_state": run.state,
        "chunks": batch.total_chunks,
        "largest_chunk": max(chunk_keys),
        "customers": customers,
        "rows": batch.rows,
        "wall_s": round(wall, 2),
        "customers_per_s": round(customers / wall),
        "chunks_per_worker": [t.get("mlops.tasks.infer_chunk", 0) for t in tasks],
        "busy_per_worker_s": [round(b, 2) for b in worker_busy],
        "start_task_s": round(
            sum(b.get("mlops.tasks.start_inference", 0) for b in busy), 2
        ),
        "start_keys_s": round(parts.get("keys", 0.0), 2),
        "start_count_workers_s": round(parts.get("count_workers", 0.0), 2),
        "idle_s": round(len(workers) * wall - sum(worker_busy), 2),
        **{f"{name}_s": round(parts.get(name, 0.0), 2) for name in measured},
        "rows_build_delete_s": round(
            parts["infer_chunk"] - sum(parts.get(n, 0.0) for n in measured), 2
        ),
        "finalize_s": round(parts["finalize"], 2),
        "commit_and_bookkeeping_s": round(
            sum(b.get("mlops.tasks.infer_chunk", 0) for b in busy)
            - parts["infer_chunk"]
            - parts["finalize"],
            2,
        ),
    }


def _wait_for_stats(workers, before, chunks: int) -> None:
    """Wait until the workers' stats count every chunk (written just after each task)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        written = sum(
            difference(w.snapshot()["tasks"], b["tasks"]).get(
                "mlops.tasks.infer_chunk", 0
            )
            for w, b in zip(workers, before, strict=True)
        )
        if written >= chunks:
            return
        time.sleep(0.1)
    raise RuntimeError("the workers' stats do not count every chunk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", default="1,2", help="worker counts, in turn")
    parser.add_argument("--repeat", type=int, default=2, help="runs per worker count")
    parser.add_argument("--chunk-size", type=int, default=0, help="0: adaptive")
    parser.add_argument("--redis", required=True, help="broker, e.g. redis://…/6")
    args = parser.parse_args()
    bi.require_postgres()
    os.environ.setdefault("VAR_DIR", "/tmp/bench-scale-var")
    bi.setup_django()
    import redis
    from django.core.management import call_command

    call_command("migrate", verbosity=0, skip_checks=True)
    shape = {"customers": args.customers, "products": args.products}
    shape["lines"] = args.lines
    if bi.store_present(**shape):
        bi.log("store already there; setup skipped")
    elif bi.store_exists_partially():
        bi.log("a bench store of another size is here: use a fresh database")
        sys.exit(2)
    else:
        bi.build_store(**shape, seed=args.seed)
    bi.train_once(reuse=True)
    options = {"chunk_size": args.chunk_size} if args.chunk_size else {}
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-out-"))
    for count in (int(n) for n in args.workers.split(",")):
        redis.Redis.from_url(args.redis).flushdb()
        workers = [
            BenchWorker(f"w{count}-{i}", args.redis, folder) for i in range(count)
        ]
        try:
            while not all(w.ready() for w in workers):
                time.sleep(0.5)
            for repeat in range(args.repeat):
                result = run_inference(args.redis, workers, options)
                result.update(shape, repeat=repeat, load_avg=os.getloadavg()[0])
                print(json.dumps(result), flush=True)
        finally:
            for worker in workers:
                worker.stop()
    bi.log(f"worker logs in {folder}")


if __name__ == "__main__":
    main()
