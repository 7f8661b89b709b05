"""Export the served demand and price forecasts as CSV."""

from ecomsite.exporting import ExportCommand
from forecasting.exporters import FORECAST_COLUMNS, export_forecasts_to_file


class Command(ExportCommand):
    help = (
        "Write the served demand and price forecasts to a CSV file: "
        f"{','.join(FORECAST_COLUMNS)} (kind is demand or price)."
    )
    noun = "forecast rows"
    export = staticmethod(export_forecasts_to_file)
