"""Export the served "for you" lists as CSV."""

from ecomsite.exporting import ExportCommand
from recommender.exporters import (
    RECOMMENDATION_COLUMNS,
    export_recommendations_to_file,
    why_few_rows,
)


class Command(ExportCommand):
    help = (
        'Write the served "for you" lists to a CSV file: '
        f"{','.join(RECOMMENDATION_COLUMNS)}."
    )
    noun = "recommendations"
    export = staticmethod(export_recommendations_to_file)

    def handle(self, *args, **options):
        super().handle(*args, **options)
        reason = why_few_rows()
        if reason:  # an empty or mostly empty file never goes out unexplained
            self.stderr.write(f"Warning: {reason}", self.style.WARNING)
