"""Personal data retention: old browsing events and expired sessions are pruned."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.retention import personal_data_prune
from accounts.tasks import prune_personal_data
from recommender.models import BehaviourEvent
from tests.factories import BehaviourEventFactory

pytestmark = pytest.mark.django_db

seeding = importlib.import_module(
    "accounts.migrations.0002_nightly_personal_data_prune"
)


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def test_browsing_events_past_retention_go_and_purchases_stay(settings, capsys):
    settings.BEHAVIOUR_EVENT_RETENTION_DAYS = 30
    old_view = BehaviourEventFactory(occurred_at=days_ago(31))
    old_cart = BehaviourEventFactory(
        kind=BehaviourEvent.Kind.ADD_TO_CART, occurred_at=days_ago(40)
    )
    old_purchase = BehaviourEventFactory(
        kind=BehaviourEvent.Kind.PURCHASE, occurred_at=days_ago(400)
    )
    recent_view = BehaviourEventFactory(occurred_at=days_ago(29))

    call_command("prune_personal_data")

    left = set(BehaviourEvent.objects.values_list("pk", flat=True))
    assert left == {old_purchase.pk, recent_view.pk}
    assert old_view.pk not in left and old_cart.pk not in left
    assert "Deleted 2 behaviour events older than 30 days" in capsys.readouterr().out


def test_expired_sessions_go_and_live_ones_stay():
    live = SessionStore()
    live.create()
    expired = SessionStore()
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=days_ago(1)
    )

    call_command("prune_personal_data")

    assert list(Session.objects.values_list("session_key", flat=True)) == [
        live.session_key
    ]


def test_a_second_prune_deletes_nothing_more(settings):
    settings.BEHAVIOUR_EVENT_RETENTION_DAYS = 30
    BehaviourEventFactory(occurred_at=days_ago(60))
    assert personal_data_prune()["behaviour events"] == 1
    assert personal_data_prune() == {
        "behaviour events": 0,
        "sessions": 0,
        "API tokens": 0,
    }


def test_the_prune_is_seeded_nightly_in_beat_and_the_task_runs():
    seeding.seed(apps, None)
    seeding.seed(apps, None)
    task = PeriodicTask.objects.get(task="accounts.tasks.prune_personal_data")

    assert task.enabled and (task.crontab.hour, task.crontab.minute) == ("3", "30")
    assert prune_personal_data.apply().get() == {
        "behaviour events": 0,
        "sessions": 0,
        "API tokens": 0,
    }
