"""Export the served "for you" lists as CSV."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommender.exporters import (
    RECOMMENDATION_COLUMNS,
    export_recommendations_to_file,
)


class Command(BaseCommand):
    help = f'Write the served "for you" lists to a CSV file: {",".join(RECOMMENDATION_COLUMNS)}.'

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file to write.")

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.parent.is_dir():
            raise CommandError(f"The folder {path.parent} does not exist.")
        try:
            count = export_recommendations_to_file(path)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc}.") from exc
        self.stdout.write(f"Exported {count:,} recommendations to {path}.")
