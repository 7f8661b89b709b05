"""Seed the nightly retrain and inference schedules (editable in the admin)."""

import json

from django.db import migrations

SCHEDULES = [
    ("Nightly retrain of every model", "train", "2"),
    ("Nightly batch inference of every model", "infer", "4"),
]


def seed(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, run_type, hour in SCHEDULES:
        crontab, _ = crontab_model.objects.get_or_create(
            minute="0", hour=hour, day_of_week="*", day_of_month="*", month_of_year="*"
        )
        task_model.objects.get_or_create(
            name=name,
            defaults={
                "task": "mlops.tasks.scheduled_run",
                "crontab": crontab,
                "kwargs": json.dumps({"kind": "all", "type": run_type}),
                "description": f"Queue a {run_type} run for every model kind.",
            },
        )


def unseed(apps, schema_editor):
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    task_model.objects.filter(name__in=[name for name, _, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mlops", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
