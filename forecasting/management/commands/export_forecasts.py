"""Export the served demand and price forecasts as CSV."""

from datetime import date

from django.core.management.base import CommandError

from ecomsite.exporting import ExportCommand
from forecasting.exporters import (
    FORECAST_COLUMNS,
    export_forecasts_to_file,
    products_without_forecast,
    served_period_range,
)

LISTED = 50


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from error


class Command(ExportCommand):
    help = (
        "Write the served demand and price forecasts to a CSV file: "
        f"{','.join(FORECAST_COLUMNS)} (kind is demand or price). Every served "
        "period by default; --from/--to narrow it."
    )
    noun = "forecast rows"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--from",
            dest="start",
            type=_date,
            help="Keep periods not ended before this date (YYYY-MM-DD).",
        )
        parser.add_argument(
            "--to",
            dest="end",
            type=_date,
            help="Keep periods starting on or before this date (YYYY-MM-DD).",
        )

    def handle(self, *args, **options):
        start, end = options["start"], options["end"]
        if start and end and end < start:
            raise CommandError(f"--to {end} is before --from {start}.")
        self.export = lambda path: export_forecasts_to_file(path, start, end)
        super().handle(*args, **options)
        first, last = served_period_range()
        if first is None:
            self.stdout.write(
                "No forecasts are served: run `train demand` / `train price`, then "
                "`infer`, first."
            )
            return
        if start or end:
            self.stdout.write(f"Served periods run from {first} to {last}.")
        missing = products_without_forecast()
        if missing:
            self.stdout.write(
                f"{len(missing):,} products with sales have no demand forecast:",
                self.style.WARNING,
            )
            for sku, reason in list(missing.items())[:LISTED]:
                self.stdout.write(f"  {sku}: {reason}")
            if len(missing) > LISTED:
                self.stdout.write(f"  … and {len(missing) - LISTED:,} more.")
