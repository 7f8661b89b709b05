"""Two workers that share nothing but the broker, the database and an S3 bucket.

Each has its own (empty) artifact folder and reads artifacts from the bucket. One
trains; the batch inference then fans its chunks out over both, so the worker that did
not train loads the model from the bucket. Needs a local S3-compatible server at
TEST_S3_ENDPOINT_URL (`.ci/run` starts moto).
"""

import os
import re
import uuid
from pathlib import Path

import boto3
import pytest
from celery import Celery

from mlops.models import InferenceChunk, ModelVersion, Run, ServedBatch
from recommender.models import Recommendation
from tests.integration.conftest import wait_for
from tests.mlops.conftest import build_shop

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
SUCCEEDED = re.compile(r"Task (mlops\.tasks\.\w+)\[[^\]]+\] succeeded")


@pytest.fixture
def bucket():
    endpoint = os.environ.get("TEST_S3_ENDPOINT_URL")
    if not endpoint:
        if os.environ.get("CI"):
            pytest.fail("CI must set TEST_S3_ENDPOINT_URL (.ci/run starts moto).")
        pytest.skip("needs an S3-compatible server: set TEST_S3_ENDPOINT_URL")
    client = boto3.client("s3", endpoint_url=endpoint, **_boto_credentials())
    name = f"artifacts-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    yield endpoint, name, client
    for item in client.list_objects_v2(Bucket=name).get("Contents", []):
        client.delete_object(Bucket=name, Key=item["Key"])
    client.delete_bucket(Bucket=name)


def _boto_credentials() -> dict:
    return {
        "aws_access_key_id": S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": S3_CREDENTIALS["AWS_DEFAULT_REGION"],
    }


def tasks_done(worker) -> dict[str, int]:
    """Count the tasks a worker's log says it completed, by task name."""
    counts: dict[str, int] = {}
    for name in SUCCEEDED.findall(worker.log.read_text()):
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_one_worker_trains_and_both_serve_from_the_bucket(
    start_worker, redis_url, bucket, tmp_path
):
    endpoint, name, client = bucket
    users, _ = build_shop(customers=120, categories=4, per_category=8, purchases=5)
    workers = []
    for label in ("host-a", "host-b"):
        own_folder = tmp_path / label
        own_folder.mkdir()
        workers.append(
            start_worker(
                redis_url,
                label,
                ARTIFACTS_ROOT=str(own_folder),
                ARTIFACT_STORAGE="s3",
                ARTIFACT_S3_BUCKET=name,
                ARTIFACT_S3_ENDPOINT_URL=endpoint,
                **S3_CREDENTIALS,
            )
        )
    for worker in workers:
        wait_for(
            lambda w=worker: " ready." in w.log.read_text(),
            timeout=120,
            what=f"{worker.log.name} to start\n{worker.output()}",
        )
    sender = Celery(broker=redis_url, set_as_current=False)

    train = Run.objects.create(
        kind="recommender", type=Run.Type.TRAIN, options={"epochs": 1, "dim": 8}
    )
    sender.send_task("mlops.tasks.train_model", args=[train.pk], queue="gpu")
    wait_for(
        lambda: Run.objects.get(pk=train.pk).is_finished,
        timeout=300,
        what="training\n" + "\n".join(w.output() for w in workers),
    )
    train.refresh_from_db()
    assert train.state == Run.State.SUCCEEDED, train.error
    trainers = wait_for(
        lambda: [w for w in workers if tasks_done(w).get("mlops.tasks.train_model")],
        timeout=30,
        what="the training task's completion in a worker log",
    )
    assert len(trainers) == 1

    infer = Run.objects.create(
        kind="recommender", type=Run.Type.INFER, options={"chunk_size": 4}
    )
    sender.send_task("mlops.tasks.start_inference", args=[infer.pk], queue="default")
    wait_for(
        lambda: Run.objects.get(pk=infer.pk).is_finished,
        timeout=300,
        what="inference\n" + "\n".join(w.output() for w in workers),
    )
    infer.refresh_from_db()
    assert infer.state == Run.State.SUCCEEDED, infer.error

    # The group fanned out: each worker scored chunks, each loading from the bucket.
    chunks = InferenceChunk.objects.filter(batch__run=infer)
    assert chunks.count() == chunks.filter(done=True).count() >= 10

    def chunks_per_worker():
        counts = [tasks_done(w).get("mlops.tasks.infer_chunk", 0) for w in workers]
        return counts if sum(counts) == chunks.count() else None

    per_worker = wait_for(chunks_per_worker, timeout=30, what="chunk tasks logged")
    assert all(n > 0 for n in per_worker), per_worker
    batch = ServedBatch.objects.get(run=infer, state="active")
    served = Recommendation.objects.filter(batch=batch)
    assert served.values("customer").distinct().count() == len(users)

    # Artifacts live in the bucket only: neither worker's own folder holds one.
    keys = [i["Key"] for i in client.list_objects_v2(Bucket=name)["Contents"]]
    for version in ModelVersion.objects.all():
        assert f"artifacts/{version.artifact.name}" in keys
    assert not [p for p in Path(tmp_path).rglob("*") if p.is_file()]
