"""Import aggregated sales history into SalesRecords."""

from ecomsite.importing import ImportCommand
from forecasting.importers import import_sales


class Command(ImportCommand):
    help = (
        "Import sales history: sku,date,units,price"
        "[,base_price,promo,competitor_price,stockout,cost]. "
        "An empty units marks a planned price or promotion. Re-running adds nothing."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--frequency",
            choices=["D", "W"],
            help="Daily or weekly periods (default: detected from the dates).",
        )

    def run(self, path, options, shared):
        return import_sales(path, frequency=options["frequency"], options=shared)
