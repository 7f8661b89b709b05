"""Export the served "for you" lists as CSV, as customers would see them."""

from itertools import groupby
from pathlib import Path
from typing import TextIO

from ecomsite import csvsafe
from ecomsite.exporting import write_atomically

from .models import Recommendation
from .selectors import (
    ServedItem,
    active_batch_id,
    active_recommender_batches,
    apply_serving_rules,
    served_rows_filtered,
)
from .selectors import serving_rules as load_rules

RECOMMENDATION_COLUMNS = ["customer_id", "rank", "sku", "score", "reason"]
EXPORT_CHUNK_SIZE = 5000


def export_recommendations(out: TextIO) -> int:
    """Write every customer's served list to `out`; return the rows written.

    Serve-time rules apply (unsellable and excluded products left out, pins
    inserted); `customer_id` is the id the customer was imported with, else the
    shop's own id. Rows are streamed from the active batch.
    """
    writer = csvsafe.writer(out)
    writer.writerow(RECOMMENDATION_COLUMNS)
    rules = load_rules()
    rows = (
        Recommendation.objects.filter(batch__in=active_recommender_batches())
        .select_related("product", "product__category", "customer")
        .order_by("customer_id", "rank")
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )
    count = 0
    for _, group in groupby(rows, key=lambda row: row.customer_id):
        group = list(group)
        customer = group[0].customer
        items = apply_serving_rules(
            [ServedItem(r.product, r.rank, r.score, r.reason) for r in group],
            rules=rules,
            pin=True,
        )
        customer_id = customer.external_id or customer.pk
        for item in items:
            score = "" if item.score is None else f"{item.score:.6g}"
            writer.writerow(
                [customer_id, item.rank, item.product.sku, score, item.reason]
            )
            count += 1
    return count


def export_recommendations_to_file(path: Path) -> int:
    return write_atomically(path, export_recommendations)


def why_few_rows() -> str:
    """Say why an export holds few or no rows: no served batch, or serve-time
    filters removing most of it (with the counts and reasons); "" otherwise."""
    if active_batch_id() is None:
        return (
            'No "for you" lists are served yet: run `train recommender` and '
            "`infer recommender` first."
        )
    return served_rows_filtered().note()
