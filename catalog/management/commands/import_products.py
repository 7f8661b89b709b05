"""Import products from the generic CSV `sku,name,category,price,image`."""

from pathlib import Path

from catalog.importers import import_products
from ecomsite.importing import ImportCommand


class Command(ImportCommand):
    help = (
        "Import products from a CSV with the columns sku,name,category,price,image "
        "(category: a path 'A > B > C' or empty; image: relative to --images-dir or "
        "empty) and optionally description, cost, currency, active. Existing SKUs "
        "are updated."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--images-dir",
            type=Path,
            help="Folder the image column is relative to (default: the CSV's folder).",
        )

    def run(self, path, options, shared):
        return import_products(path, images_dir=options["images_dir"], options=shared)
