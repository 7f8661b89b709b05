"""Bring the daily sales history up to date with the orders."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from forecasting.services import sales_history_refresh


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            f"--since {value!r} is not a date; expected YYYY-MM-DD."
        ) from exc


class Command(BaseCommand):
    help = (
        "Rebuild the daily sales records derived from orders: the days touched since "
        "the last refresh, or every day from --since. Imported sales stay as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since", help="Recompute every day from this date (YYYY-MM-DD)."
        )

    def handle(self, *args, since=None, **options):
        first = iso_date(since) if since else None
        if first and first > timezone.localdate():
            raise CommandError(f"--since {first} is in the future.")
        written = sales_history_refresh(since=first)
        self.stdout.write(f"Wrote {written:,} daily sales records from the orders.")
