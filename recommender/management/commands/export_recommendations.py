"""Export the served "for you" lists as CSV."""

from ecomsite.exporting import ExportCommand
from recommender.exporters import RECOMMENDATION_COLUMNS, export_recommendations_to_file


class Command(ExportCommand):
    help = (
        'Write the served "for you" lists to a CSV file: '
        f"{','.join(RECOMMENDATION_COLUMNS)}."
    )
    noun = "recommendations"
    export = staticmethod(export_recommendations_to_file)
