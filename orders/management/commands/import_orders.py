"""Import order history from CSV: generic, UCI Online Retail or dunnhumby."""

from ecomsite.importing import ImportCommand
from orders.importers import FORMATS, import_orders


class Command(ImportCommand):
    help = (
        "Import order lines. generic: order_id,customer_id,sku,quantity,unit_price,"
        "ordered_at (ISO 8601; naive times are in TIME_ZONE). online-retail: the UCI "
        "Online Retail export. complete-journey: dunnhumby transactions.csv (with "
        "products.csv beside it for names and categories). Unknown customers and "
        "products are created; re-running a file adds nothing."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--format", choices=list(FORMATS), default="generic", dest="file_format"
        )

    def run(self, path, options, shared):
        return import_orders(path, file_format=options["file_format"], options=shared)
