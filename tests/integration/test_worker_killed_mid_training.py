"""Workers killed with SIGKILL mid-training, again and again: the run still ends with
one version and whole artifacts. `make test` kills two workers; `make bench`
(bench_faults.py) sets FAULT_KILLS=10."""

import os
from pathlib import Path

import numpy as np
import pytest
from celery import Celery
from django.conf import settings

from mlops.models import ModelVersion, Run
from mlops.registry import artifact_read
from tests.integration.conftest import wait_for
from tests.mlops.conftest import build_shop

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

KILLS = int(os.environ.get("FAULT_KILLS", "2"))

# A real but deliberately wide tuning grid, so that training lasts long enough to be
# interrupted (about 1,300 configurations of the popularity models, then SASRec).
GRID = {
    "half_lives": [round(float(h), 2) for h in np.linspace(1, 365, 120)],
    "global_weights": [round(w, 2) for w in np.linspace(0.0, 0.9, 10)],
    "epochs": 3,
    "dim": 16,
}


def test_training_survives_workers_killed_mid_run(start_worker, redis_url):
    build_shop(customers=300, categories=8, per_category=25, purchases=8)
    run = Run.objects.create(kind="recommender", type=Run.Type.TRAIN, options=GRID)
    # Redis hands an unacknowledged task to another worker after the visibility
    # timeout; the run is taken over once its heartbeat is older than the stale limit.
    fast_recovery = {
        "CELERY_VISIBILITY_TIMEOUT": "6",
        "MLOPS_RUN_STALE_SECONDS": "4",
        "MLOPS_MAX_ATTEMPTS": str(KILLS + 3),
    }
    sender = Celery(broker=redis_url, set_as_current=False)
    sender.conf.broker_transport_options = {"visibility_timeout": 6}
    sender.send_task("mlops.tasks.train_model", args=[run.pk], queue="gpu")

    for kill in range(KILLS):
        worker = start_worker(redis_url, f"doomed{kill}", **fast_recovery)

        def training_under_way(attempt=kill + 1):
            run.refresh_from_db()
            return (
                run.state == Run.State.RUNNING
                and run.attempts == attempt
                and run.progress >= 10
            )

        wait_for(
            training_under_way,
            timeout=180,
            what=f"training attempt {kill + 1}\n{worker.output()}",
        )
        worker.kill()
        assert not ModelVersion.objects.exists()

    survivor = start_worker(redis_url, "survivor", **fast_recovery)

    def run_finished():
        run.refresh_from_db()
        return run.is_finished

    wait_for(run_finished, timeout=300, what=f"the run to finish\n{survivor.output()}")
    assert run.state == Run.State.SUCCEEDED, run.error + survivor.output()
    assert run.attempts == KILLS + 1
    versions = ModelVersion.objects.filter(kind="recommender")
    trained = versions.get(run=run)  # exactly one version of the run's model
    # ...and at most one more: the baseline that serves if the model lost to it
    assert versions.exclude(pk=trained.pk).count() <= 1
    assert versions.filter(status="champion").count() == 1
    for version in versions:
        artifact_read(version)  # whole and matching its SHA-256
    artifact_dir = Path(settings.ARTIFACTS_ROOT) / "recommender"
    files = sorted(p.name for p in artifact_dir.iterdir())
    assert not [name for name in files if name.startswith(".partial-")], files
