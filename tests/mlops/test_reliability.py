"""Runs stop after a bounded number of attempts and never run twice at once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mlops import kinds
from mlops.models import Run
from mlops.runs import RunBusy, run_claim, run_request

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


class AlwaysCrashes:
    """A kind whose training hits a transient-looking error every time."""

    kind = "demand"
    primary_metric = "mase"
    higher_is_better = False
    calls = 0

    def train(self, context):
        type(self).calls += 1
        raise ConnectionError("feature store went away")


def test_a_task_that_keeps_failing_stops_and_marks_the_run_failed(
    monkeypatch, settings
):
    settings.MLOPS_MAX_ATTEMPTS = 3
    AlwaysCrashes.calls = 0
    monkeypatch.setitem(kinds.KIND_MODULES, "demand", f"{__name__}:AlwaysCrashes")

    run = run_request(kind="demand", type=Run.Type.TRAIN)

    run.refresh_from_db()
    assert AlwaysCrashes.calls == 3
    assert run.state == Run.State.FAILED
    assert "ConnectionError: feature store went away" in run.message
    assert "Traceback" in run.error
    assert run.attempts == 3


def test_a_live_run_is_not_claimed_twice_but_an_abandoned_one_is(settings):
    settings.MLOPS_RUN_STALE_SECONDS = 60
    run = Run.objects.create(kind="recommender", type=Run.Type.TRAIN)

    assert run_claim(run.pk) is not None
    with pytest.raises(RunBusy):  # alive elsewhere: the duplicate delivery backs off
        run_claim(run.pk)

    Run.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    taken_over = run_claim(run.pk)
    assert taken_over is not None and taken_over.attempts == 2


def test_a_run_lost_too_often_is_failed_instead_of_retried_forever(settings):
    settings.MLOPS_MAX_ATTEMPTS = 2
    run = Run.objects.create(
        kind="recommender",
        type=Run.Type.TRAIN,
        attempts=2,
        state=Run.State.RUNNING,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )

    assert run_claim(run.pk) is None
    run.refresh_from_db()
    assert run.state == Run.State.FAILED
    assert "Gave up after 2 attempts" in run.message


def test_finished_runs_are_never_claimed():
    done = Run.objects.create(
        kind="recommender", type=Run.Type.TRAIN, state="succeeded"
    )
    assert run_claim(done.pk) is None
