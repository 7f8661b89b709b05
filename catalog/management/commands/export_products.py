"""Export the catalogue as CSV."""

from catalog.exporters import PRODUCT_COLUMNS, export_products_to_file
from ecomsite.exporting import ExportCommand


class Command(ExportCommand):
    help = f"Write every product to a CSV file: {','.join(PRODUCT_COLUMNS)}."
    noun = "products"
    export = staticmethod(export_products_to_file)
