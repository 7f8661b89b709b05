"""Any order file, end to end: generic CSV → import → train → infer → export.

    DATABASE_URL=sqlite:////tmp/generic.sqlite3 VAR_DIR=/tmp/generic-var \\
        .venv/bin/python bench/bench_generic_orders.py

Converts the dunnhumby Complete Journey sample (real baskets of 2,377 households) to
the generic order format `order_id,customer_id,sku,quantity,unit_price,ordered_at`,
as a shop would export any order history, then runs what an operator runs:
`import_orders` (generic), the `recommender` training run (every baseline and SASRec
on the same leave-last-out split; the registry serves the winner), batch inference
and `export_recommendations`. Reports the served model's metrics next to EASE's on
the same data, the rows exported and the time of each step. One JSON line; skips
without the data set.
"""

import csv
import json
import os
import sys
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = (
    ROOT.parent / "shared" / "data" / "dunnhumby-complete-journey" / "transactions.csv"
)


def convert(target: Path) -> int:
    """Write the generic order file; return its line count (quantity 0 left out)."""
    lines = 0
    with DATA.open() as source, target.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["order_id", "customer_id", "sku", "quantity", "unit_price", "ordered_at"]
        )
        for row in csv.DictReader(source):
            quantity = int(float(row["quantity"]))
            if quantity <= 0:
                continue
            price = Decimal(row["sales_value"]) / quantity
            when = datetime.fromisoformat(row["transaction_timestamp"].replace("Z", ""))
            writer.writerow(
                [
                    row["basket_id"],
                    row["household_id"],
                    f"DH-{row['product_id']}",
                    quantity,
                    f"{max(price, Decimal('0.01')):.2f}",
                    when.isoformat(),
                ]
            )
            lines += 1
    return lines


def main() -> int:
    if not DATA.exists():
        print(json.dumps({"skipped": f"{DATA} not found"}))
        return 0
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    from mlops.models import ModelVersion, Run
    from mlops.runs import run_request

    workdir = Path(tempfile.mkdtemp(prefix="generic-orders-"))
    orders_file, export_file = workdir / "orders.csv", workdir / "recommendations.csv"
    seconds = {}

    def timed(name, action):
        started = time.monotonic()
        value = action()
        seconds[name] = round(time.monotonic() - started, 1)
        return value

    lines = timed("convert", lambda: convert(orders_file))
    timed(
        "import",
        lambda: call_command(
            "import_orders", str(orders_file), "--format", "generic", "--no-progress"
        ),
    )
    runs = {}
    for kind_type in (Run.Type.TRAIN, Run.Type.INFER):
        run = timed(
            kind_type, lambda t=kind_type: run_request(kind="recommender", type=t)
        )
        run.refresh_from_db()
        if run.state != Run.State.SUCCEEDED:
            print(json.dumps({"error": f"{kind_type}: {run.error}"}))
            return 1
        runs[kind_type] = run
    timed("export", lambda: call_command("export_recommendations", str(export_file)))
    version = ModelVersion.objects.get(run=runs[Run.Type.TRAIN])
    served = ModelVersion.objects.get(kind="recommender", status="champion")
    exported = sum(1 for _ in export_file.open()) - 1
    candidates = {version.algorithm: version.metrics, **version.baselines}
    served_metrics = served.metrics  # a serving baseline is a version of its own
    print(
        json.dumps(
            {
                "order_lines": lines,
                "served": served.algorithm,
                "served_ndcg@10": served_metrics["ndcg@10"],
                "ease_ndcg@10": version.baselines["ease"]["ndcg@10"],
                "served_beats_ease": served_metrics["ndcg@10"]
                > version.baselines["ease"]["ndcg@10"],
                "models": candidates,
                "protocol": version.protocol,
                "exported_rows": exported,
                "seconds": seconds,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
