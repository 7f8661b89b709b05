"""Training and chunked inference through real workers on each supported broker."""

import pytest
from celery import Celery

from catalog.models import Product
from mlops.models import ModelVersion, Run, ServedBatch
from recommender.models import Recommendation
from tests.integration.conftest import wait_for
from tests.mlops.conftest import build_shop

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def run_through_worker(broker_url, run, task, worker):
    sender = Celery(broker=broker_url, set_as_current=False)
    sender.send_task(task, args=[run.pk], queue="gpu" if "train" in task else "default")

    def finished():
        run.refresh_from_db()
        return run.is_finished

    wait_for(finished, timeout=120, what=f"{run}\n{worker.output()}")
    assert run.state == Run.State.SUCCEEDED, run.error + worker.output()


@pytest.mark.parametrize("broker", ["redis_url", "amqp_url"])
def test_train_and_infer_in_chunks_on_a_real_broker(broker, request, start_worker):
    broker_url = request.getfixturevalue(broker)
    users, _ = build_shop(customers=60)
    worker = start_worker(broker_url, f"w-{broker}")

    train = Run.objects.create(
        kind="recommender", type=Run.Type.TRAIN, options={"epochs": 3, "dim": 16}
    )
    run_through_worker(broker_url, train, "mlops.tasks.train_model", worker)
    assert ModelVersion.objects.filter(run=train).exists()
    assert ModelVersion.objects.filter(kind="recommender", status="champion").exists()

    infer = Run.objects.create(
        kind="recommender", type=Run.Type.INFER, options={"chunk_size": 16}
    )
    run_through_worker(broker_url, infer, "mlops.tasks.start_inference", worker)
    batch = ServedBatch.objects.get(run=infer)
    assert batch.state == ServedBatch.State.ACTIVE
    keys = len(users) + Product.objects.filter(is_active=True).count()
    assert batch.total_chunks == -(-keys // 16)
    assert not batch.chunks.filter(done=False).exists()
    served = Recommendation.objects.filter(batch=batch)
    assert served.values("customer").distinct().count() == len(users)
