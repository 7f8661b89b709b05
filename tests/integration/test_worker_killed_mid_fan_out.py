"""One of two workers sharing a batch inference is killed with SIGKILL mid-way.

The other takes over the chunk the dead one held (Redis redelivers it after the
visibility timeout) and finishes the batch: one run, succeeded, every chunk done once,
every customer's list whole, readers on the old set until then.
"""

import pytest
from celery import Celery

from mlops.models import InferenceChunk, Run, ServedBatch
from mlops.runs import run_request
from recommender.models import Recommendation
from tests.integration.conftest import wait_for
from tests.integration.test_worker_killed_mid_inference import (
    FAST_RECOVERY,
    assert_whole,
    served_state,
)
from tests.mlops.conftest import build_shop

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_fanned_out_inference_survives_one_of_two_workers_killed(
    start_worker, redis_url
):
    users, _ = build_shop(customers=200, categories=5, per_category=8, purchases=5)
    trained = run_request(
        kind="recommender", type=Run.Type.TRAIN, options={"epochs": 1, "dim": 8}
    )
    trained.refresh_from_db()
    assert trained.state == Run.State.SUCCEEDED, trained.error
    run_request(kind="recommender", type=Run.Type.INFER)  # in-process: the old set
    old_batch, old_lists = served_state()

    doomed = start_worker(redis_url, "doomed", **FAST_RECOVERY)
    survivor = start_worker(redis_url, "survivor", **FAST_RECOVERY)
    for worker in (doomed, survivor):
        wait_for(
            lambda w=worker: " ready." in w.log.read_text(),
            timeout=120,
            what=f"{worker.log.name} to start\n{worker.output()}",
        )
    run = Run.objects.create(
        kind="recommender", type=Run.Type.INFER, options={"chunk_size": 4}
    )
    sender = Celery(broker=redis_url, set_as_current=False)
    sender.conf.broker_transport_options = {"visibility_timeout": 5}
    sender.send_task("mlops.tasks.start_inference", args=[run.pk], queue="default")

    def doomed_scored_a_chunk() -> bool:
        return "infer_chunk" in doomed.log.read_text().split(" ready.")[-1]

    wait_for(doomed_scored_a_chunk, timeout=180, interval=0.05, what="a chunk")
    doomed.kill()
    run.refresh_from_db()
    assert not run.is_finished, "the batch finished before the kill"
    assert served_state() == (old_batch, old_lists)

    def run_finished():
        run.refresh_from_db()
        return run.is_finished

    wait_for(run_finished, timeout=300, what=f"the run to finish\n{survivor.output()}")
    assert run.state == Run.State.SUCCEEDED, run.error + survivor.output()
    assert Run.objects.filter(type=Run.Type.INFER).count() == 2  # none duplicated
    new_batch, new_lists = served_state()
    assert new_batch.run == run
    assert_whole(new_lists, len(users))
    chunks = InferenceChunk.objects.filter(batch=new_batch)
    assert chunks.count() >= 10 and not chunks.filter(done=False).exists()
    assert new_batch.rows == sum(chunks.values_list("rows", flat=True))
    assert Recommendation.objects.filter(batch=new_batch).count() == sum(
        rows for rows, _, _ in new_lists.values()
    )
    assert ServedBatch.objects.filter(kind="recommender", state="active").count() == 1
