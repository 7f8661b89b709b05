"""Seed a nightly prune of browsing events past retention and expired sessions."""

from django.db import migrations

NAME = "Nightly personal data prune"


def seed(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = crontab_model.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    task_model.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "accounts.tasks.prune_personal_data",
            "crontab": crontab,
            "description": "Delete browsing events past BEHAVIOUR_EVENT_RETENTION_DAYS "
            "and expired sessions.",
        },
    )


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name=NAME
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
