"""Celery tasks of the forecasting app: thin and safe to run again."""

from datetime import date

from celery import shared_task

from . import services


@shared_task(
    name="forecasting.tasks.refresh_sales_history",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=3,
)
def refresh_sales_history(since: str | None = None) -> int:
    """Bring the daily sales history up to date with the orders; return rows written.

    `since` is an ISO date to recompute every day from; re-running writes nothing new.
    """
    return services.sales_history_refresh(
        since=date.fromisoformat(since) if since else None
    )
