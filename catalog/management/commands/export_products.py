"""Export the catalogue as CSV."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.exporters import PRODUCT_COLUMNS, export_products_to_file


class Command(BaseCommand):
    help = f"Write every product to a CSV file: {','.join(PRODUCT_COLUMNS)}."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file to write.")

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.parent.is_dir():
            raise CommandError(f"The folder {path.parent} does not exist.")
        try:
            count = export_products_to_file(path)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc}.") from exc
        self.stdout.write(f"Exported {count:,} products to {path}.", self.style.SUCCESS)
