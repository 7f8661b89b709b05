"""Nightly schedules are seeded for django-celery-beat; task results show in the admin."""

import importlib

import pytest
from django.apps import apps
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

pytestmark = pytest.mark.django_db

seeding = importlib.import_module("mlops.migrations.0002_nightly_schedules")


def test_nightly_retrain_and_inference_are_seeded_once():
    seeding.seed(apps, None)
    seeding.seed(apps, None)

    tasks = PeriodicTask.objects.filter(task="mlops.tasks.scheduled_run")
    assert sorted((t.crontab.hour, t.kwargs) for t in tasks) == [
        ("2", '{"kind": "all", "type": "train"}'),
        ("4", '{"kind": "all", "type": "infer"}'),
    ]


def test_schedules_and_task_results_are_in_the_admin(admin_client):
    seeding.seed(apps, None)
    for name in ["django_celery_beat_periodictask", "django_celery_results_taskresult"]:
        response = admin_client.get(reverse(f"admin:{name}_changelist"))
        assert response.status_code == 200
    page = admin_client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    assert "Nightly retrain of every model" in page.content.decode()


def test_scheduled_run_queues_a_run_per_available_kind(db):
    from mlops.kinds import available_kinds
    from mlops.models import Run
    from mlops.tasks import scheduled_run

    run_ids = scheduled_run.apply(kwargs={"kind": "all", "type": "infer"}).get()
    queued = Run.objects.filter(pk__in=run_ids).values_list("kind", "type")
    assert sorted(queued) == sorted((kind, "infer") for kind in available_kinds())
    assert {"recommender", "segments"} <= set(available_kinds())
