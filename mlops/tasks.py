"""Celery tasks of the ML platform: thin, idempotent, retried a bounded number of times.

Training and inference chunks are routed to the `gpu` queue (settings); TensorFlow is
imported only inside them, never when a worker starts.
"""

from celery import current_app, group, shared_task
from django.conf import settings

from . import runs, services
from .kinds import RunRefused

RETRY = dict(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)


def _retry_or_fail(task, run_id: int, exc: Exception, *, requeue: bool = True) -> None:
    """Retry the task with back-off, or fail its run once attempts are used up."""
    if (
        isinstance(exc, RunRefused)
        or task.request.retries + 1 >= settings.MLOPS_MAX_ATTEMPTS
    ):
        runs.run_fail(run_id, exc)
        services.inference_abandon(run_id)
        return
    if requeue:
        runs.run_requeue(run_id, exc)
    else:
        runs.run_log(run_id, f"error, will retry: {type(exc).__name__}: {exc}")
    raise task.retry(exc=exc, countdown=min(60, 5 * 2**task.request.retries))


def _check_later(task, run_id: int) -> None:
    """A duplicate delivery of a live run: look again once its heartbeat could be stale."""
    task.apply_async((run_id,), countdown=settings.MLOPS_RUN_STALE_SECONDS)


@shared_task(name="mlops.tasks.train_model", **RETRY)
def train_model(self, run_id: int) -> None:
    """Train, evaluate and register one model version for the run."""
    try:
        services.training_execute(run_id)
    except runs.RunBusy:
        _check_later(train_model, run_id)
    except Exception as exc:
        _retry_or_fail(self, run_id, exc)


@shared_task(name="mlops.tasks.start_inference", **RETRY)
def start_inference(self, run_id: int) -> None:
    """Split a batch inference into chunks and fan them out to the workers."""
    try:
        pending = services.inference_start(run_id, workers=chunk_workers())
    except runs.RunBusy:
        _check_later(start_inference, run_id)
        return
    except Exception as exc:
        _retry_or_fail(self, run_id, exc)
        return
    if pending:
        group(infer_chunk.si(run_id, index) for index in pending).apply_async()


def chunk_workers() -> int:
    """Return how many worker processes take inference chunks (at least 1).

    MLOPS_INFERENCE_WORKERS when set; otherwise the pool sizes of the workers that
    consume the chunk queue, as they answer two broadcasts (half a second each).
    """
    if settings.MLOPS_INFERENCE_WORKERS:
        return settings.MLOPS_INFERENCE_WORKERS
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return 1
    queue = settings.CELERY_TASK_ROUTES.get(infer_chunk.name, {}).get(
        "queue", current_app.conf.task_default_queue
    )
    inspect = current_app.control.inspect(timeout=0.5)
    consuming = {
        worker
        for worker, queues in (inspect.active_queues() or {}).items()
        if any(q["name"] == queue for q in queues)
    }
    if not consuming:
        return 1
    stats = inspect.stats() or {}
    return max(
        1,
        sum(
            int(stats.get(w, {}).get("pool", {}).get("max-concurrency", 1))
            for w in consuming
        ),
    )


@shared_task(name="mlops.tasks.infer_chunk", **RETRY)
def infer_chunk(self, run_id: int, index: int) -> None:
    """Score one chunk of keys and write its served rows."""
    try:
        services.inference_chunk_execute(run_id, index)
    except Exception as exc:
        _retry_or_fail(self, run_id, exc, requeue=False)


@shared_task(name="mlops.tasks.scheduled_run")
def scheduled_run(kind: str = "all", type: str = "train") -> list[int]:
    """Queue runs for one kind or all of them (used by the nightly schedules)."""
    from .kinds import available_kinds

    kinds = available_kinds() if kind == "all" else [kind]
    return [runs.run_request(kind=k, type=type).pk for k in kinds]
