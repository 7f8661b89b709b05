"""Workers killed with SIGKILL again and again during a batch inference.

Readers keep the whole old set until the new one is complete; the run then serves the
whole new set, with no chunk lost or written twice. `make test` kills three workers;
`make bench` (bench_faults.py) sets FAULT_KILLS=10.
"""

import os

import pytest
from celery import Celery
from django.db.models import Count, Max, Min

from mlops.models import InferenceChunk, Run, ServedBatch
from mlops.runs import run_request
from recommender.models import Recommendation
from tests.integration.conftest import wait_for
from tests.mlops.conftest import build_shop

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

KILLS = int(os.environ.get("FAULT_KILLS", "3"))
CHUNK = 6
# Redis redelivers an unacknowledged task after the visibility timeout; a run (or
# chunk) whose heartbeat is older than the stale limit is taken over.
FAST_RECOVERY = {
    "CELERY_VISIBILITY_TIMEOUT": "5",
    "MLOPS_RUN_STALE_SECONDS": "3",
    "MLOPS_MAX_ATTEMPTS": str(KILLS + 5),
}


def served_state() -> tuple[ServedBatch, dict[int, tuple[int, int, int]]]:
    """The active batch and, per customer, (rows, lowest rank, highest rank)."""
    active = ServedBatch.objects.get(kind="recommender", state="active")
    lists = (
        Recommendation.objects.filter(batch=active)
        .values("customer")
        .annotate(n=Count("id"), low=Min("rank"), high=Max("rank"))
    )
    return active, {r["customer"]: (r["n"], r["low"], r["high"]) for r in lists}


def assert_whole(lists: dict[int, tuple[int, int, int]], customers: int) -> None:
    assert len(lists) == customers
    for rows, low, high in lists.values():
        assert (low, high) == (1, rows) and rows > 0


def test_batch_inference_survives_workers_killed_again_and_again(
    start_worker, redis_url
):
    users, _ = build_shop(customers=240, categories=6, per_category=10, purchases=6)
    trained = run_request(
        kind="recommender", type=Run.Type.TRAIN, options={"epochs": 2, "dim": 8}
    )
    trained.refresh_from_db()
    assert trained.state == Run.State.SUCCEEDED, trained.error
    run_request(kind="recommender", type=Run.Type.INFER)  # in-process: the old set
    old_batch, old_lists = served_state()
    assert_whole(old_lists, len(users))

    run = Run.objects.create(
        kind="recommender", type=Run.Type.INFER, options={"chunk_size": CHUNK}
    )
    sender = Celery(broker=redis_url, set_as_current=False)
    sender.conf.broker_transport_options = {"visibility_timeout": 5}
    sender.send_task("mlops.tasks.start_inference", args=[run.pk], queue="gpu")

    def chunks_done() -> int:
        return InferenceChunk.objects.filter(batch__run=run, done=True).count()

    for kill in range(KILLS):
        before = chunks_done()
        worker = start_worker(redis_url, f"doomed{kill}", **FAST_RECOVERY)
        wait_for(
            lambda before=before: chunks_done() > before,
            timeout=180,
            interval=0.05,
            what=f"chunks past {before} (kill {kill + 1})\n{worker.output()}",
        )
        worker.kill()
        run.refresh_from_db()
        assert not run.is_finished, "the batch finished before every kill happened"
        active, lists = served_state()  # readers still have the whole old set
        assert active == old_batch and lists == old_lists

    last = start_worker(redis_url, "survivor", **FAST_RECOVERY)

    def run_finished():
        run.refresh_from_db()
        return run.is_finished

    wait_for(run_finished, timeout=300, what=f"the run to finish\n{last.output()}")
    assert run.state == Run.State.SUCCEEDED, run.error + last.output()
    new_batch, new_lists = served_state()
    assert new_batch.run == run and new_batch != old_batch
    assert_whole(new_lists, len(users))
    chunks = InferenceChunk.objects.filter(batch=new_batch)
    assert chunks.filter(done=False).count() == 0
    assert new_batch.rows == sum(chunks.values_list("rows", flat=True))
    assert Recommendation.objects.filter(batch=new_batch).count() == sum(
        rows for rows, _, _ in new_lists.values()
    )
    assert not Recommendation.objects.exclude(batch=new_batch).exists()
