"""Seed an hourly refresh of the sales history from orders (editable in the admin).

Training and inference of the forecasts refresh it too; the schedule keeps the admin's
sales history and planned-price pages current between them.
"""

from django.db import migrations

NAME = "Hourly sales history refresh"


def seed(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = crontab_model.objects.get_or_create(
        minute="15", hour="*", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    task_model.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "forecasting.tasks.refresh_sales_history",
            "crontab": crontab,
            "description": "Bring the daily sales history up to date with the orders.",
        },
    )


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name=NAME
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("forecasting", "0002_purchase_orders_forecasts"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
