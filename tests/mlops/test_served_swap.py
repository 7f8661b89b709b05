"""Readers see the old complete served set until the new one is complete."""

import pytest

from mlops import services
from mlops.models import InferenceChunk, Run, ServedBatch
from mlops.runs import run_request
from recommender.selectors import recommendations_for

SMALL = {"epochs": 3, "dim": 16}
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_readers_keep_the_old_set_while_the_new_one_is_built(shop):
    users, _ = shop
    run_request(kind="recommender", type=Run.Type.TRAIN, options=SMALL)
    run_request(kind="recommender", type=Run.Type.INFER)
    old = ServedBatch.objects.get(state=ServedBatch.State.ACTIVE)
    before = [(r.rank, r.product_id) for r in recommendations_for(users[-1])]
    assert before

    run = Run.objects.create(
        kind="recommender", type=Run.Type.INFER, options={"chunk_size": 10}
    )
    pending = services.inference_start(run.pk)
    assert len(pending) == 7  # 40 customers and 24 products in chunks of 10
    for index in pending[:-1]:
        services.inference_chunk_execute(run.pk, index)
        during = [
            (r.rank, r.product_id, r.batch_id) for r in recommendations_for(users[-1])
        ]
        assert {b for _, _, b in during} == {old.pk}
        assert [(rank, p) for rank, p, _ in during] == before

    services.inference_chunk_execute(run.pk, pending[-1])
    new = ServedBatch.objects.get(state=ServedBatch.State.ACTIVE)
    assert new.run_id == run.pk
    assert {r.batch_id for r in recommendations_for(users[-1])} == {new.pk}
    run.refresh_from_db()
    assert run.state == Run.State.SUCCEEDED


def test_a_chunk_run_twice_writes_its_rows_once(shop):
    run_request(kind="recommender", type=Run.Type.TRAIN, options=SMALL)
    run = Run.objects.create(
        kind="recommender", type=Run.Type.INFER, options={"chunk_size": 25}
    )
    first, *_ = services.inference_start(run.pk)
    services.inference_chunk_execute(run.pk, first)
    batch = ServedBatch.objects.get(run=run)
    rows = batch.recommendations.count()
    # a redelivered chunk after a crash between write and acknowledgement
    InferenceChunk.objects.filter(batch=batch, index=first).update(done=False)
    services.inference_chunk_execute(run.pk, first)
    assert batch.recommendations.count() == rows
