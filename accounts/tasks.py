"""Celery tasks of the accounts app."""

from celery import shared_task

from .retention import personal_data_prune


@shared_task(name="accounts.tasks.prune_personal_data")
def prune_personal_data() -> dict[str, int]:
    """Delete browsing events past their retention and expired sessions."""
    return personal_data_prune()
