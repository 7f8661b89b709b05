"""Writes to runs: request, claim, progress, success and failure."""

import traceback
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .ml.progress import Progress
from .models import Run

LOG_LIMIT = 20_000


def run_request(*, kind: str, type: str, user=None, options: dict | None = None) -> Run:
    """Create a queued run and hand it to a worker once the transaction commits."""
    from . import tasks

    run = Run.objects.create(
        kind=kind, type=type, requested_by=user, options=options or {}
    )
    task = tasks.train_model if type == Run.Type.TRAIN else tasks.start_inference
    transaction.on_commit(lambda: task.delay(run.pk))
    return run


class RunBusy(Exception):
    """The run is being worked on by a live worker; try again later."""


def run_claim(run_id: int) -> Run | None:
    """Take a run for this worker; return None if it is finished (or just failed).

    A run left `running` by a worker that died (stale heartbeat) is taken over; one
    whose heartbeat is fresh raises RunBusy. A run that has been attempted too often
    is failed instead: a poison task must stop.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.MLOPS_RUN_STALE_SECONDS)
    claimable = Q(state=Run.State.QUEUED) | Q(
        state=Run.State.RUNNING, heartbeat_at__lt=stale
    )
    claimed = Run.objects.filter(claimable, pk=run_id).update(
        state=Run.State.RUNNING,
        attempts=F("attempts") + 1,
        heartbeat_at=now,
        started_at=now,
        error="",
    )
    if not claimed:
        state = Run.objects.filter(pk=run_id).values_list("state", flat=True).first()
        if state == Run.State.RUNNING:
            raise RunBusy(f"Run {run_id} is alive on another worker.")
        return None
    run = Run.objects.get(pk=run_id)
    if run.attempts > settings.MLOPS_MAX_ATTEMPTS:
        run_fail(
            run.pk,
            f"Gave up after {run.attempts - 1} attempts (worker lost each time).",
        )
        return None
    run_log(run.pk, f"attempt {run.attempts} started")
    return run


class RunReporter:
    """A progress sink that writes a run's progress and heartbeat to the database."""

    def __init__(self, run_id: int, *, start: float = 0.0, end: float = 100.0):
        self.run_id = run_id
        self.start = start
        self.end = end

    def __call__(self, progress: Progress) -> None:
        percent = self.start + (self.end - self.start) * progress.percent / 100
        Run.objects.filter(pk=self.run_id).update(
            progress=min(max(percent, 0.0), 100.0),
            step=progress.step,
            total_steps=progress.total_steps,
            eta_seconds=progress.eta_seconds,
            message=progress.message[:255],
            heartbeat_at=timezone.now(),
        )

    def _write(self, step: int, total: int) -> None:
        """Record "step of total" directly (for chunked work spread over workers)."""
        fraction = step / total if total else 1.0
        self(Progress(step, total, 100 * fraction, None, f"{step}/{total} chunks"))

    def log(self, line: str) -> None:
        run_log(self.run_id, line)


def run_log(run_id: int, line: str) -> None:
    """Append a time-stamped line to the run's log (kept to its last 20,000 chars)."""
    run = Run.objects.only("log").get(pk=run_id)
    text = f"{run.log}{timezone.now():%H:%M:%S} {line}\n"[-LOG_LIMIT:]
    Run.objects.filter(pk=run_id).update(log=text, heartbeat_at=timezone.now())


def run_succeed(run_id: int, message: str = "done") -> None:
    Run.objects.filter(pk=run_id).update(
        state=Run.State.SUCCEEDED,
        progress=100.0,
        eta_seconds=0,
        message=message[:255],
        finished_at=timezone.now(),
    )
    run_log(run_id, message)


def run_fail(run_id: int, error: BaseException | str) -> None:
    """Mark a run failed, keeping the error (with traceback for exceptions)."""
    if isinstance(error, BaseException):
        text = "".join(traceback.format_exception(error))[-LOG_LIMIT:]
        summary = f"{type(error).__name__}: {error}"
    else:
        text = summary = error
    Run.objects.filter(pk=run_id).update(
        state=Run.State.FAILED,
        error=text,
        message=summary[:255],
        finished_at=timezone.now(),
    )
    run_log(run_id, f"failed: {summary}")


def run_requeue(run_id: int, error: BaseException) -> None:
    """Put a run back in the queue after an error, for the task's next retry."""
    Run.objects.filter(pk=run_id).update(
        state=Run.State.QUEUED,
        error="".join(traceback.format_exception(error))[-LOG_LIMIT:],
    )
    run_log(run_id, f"error, will retry: {type(error).__name__}: {error}")
