"""Export the served demand and price forecasts as CSV."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from forecasting.exporters import FORECAST_COLUMNS, export_forecasts_to_file


class Command(BaseCommand):
    help = (
        "Write the served demand and price forecasts to a CSV file: "
        f"{','.join(FORECAST_COLUMNS)} (kind is demand or price)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file to write.")

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.parent.is_dir():
            raise CommandError(f"The folder {path.parent} does not exist.")
        try:
            count = export_forecasts_to_file(path)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc}.") from exc
        self.stdout.write(f"Exported {count:,} forecast rows to {path}.")
