"""How well behaviour clusters recover the demo store's hidden customer tastes.

    DATABASE_URL=sqlite:////tmp/demo.sqlite3 VAR_DIR=/tmp/demo-var \\
        .venv/bin/python bench/bench_segments_clusters.py

Generates the default demo store first if the database has none. Clusters customers
twice as the `segments` kind would (k by held-out silhouette): on the learned customer
codes (the served representation) and, for comparison, on each customer's share of
purchases per top-level category, both with the price position. Each clustering is
scored by normalised mutual information (NMI) with the truth of `generate_demo_store`:
the top-level category of each customer's strongest taste, and their price
sensitivity in thirds. Prints one JSON line.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from accounts.models import User
    from recommender.ml import churn, clusters, rfm
    from recommender.segments import segment_frame
    from recommender.segments_kind import SegmentsKind, _represent

    call_command("generate_demo_store", "--seed", "7", "--no-images", "--if-empty")
    truth_path = Path(settings.VAR_DIR) / "demo_truth.json"
    truth = {c["username"]: c for c in json.loads(truth_path.read_text())["customers"]}
    frame = segment_frame()
    last = frame.last_day
    p = frame.purchases
    values = churn.rfm_values(p, last)
    edges = rfm.fit_edges(values.recency_days, values.frequency, values.monetary)

    class Context:
        seed, options = 0, {}

        @staticmethod
        def log(message):
            print(message, file=sys.stderr)

    started = time.monotonic()
    encoder, encoder_metrics = SegmentsKind()._fit_encoder(frame, last, Context)
    encoder_seconds = time.monotonic() - started
    rep = _represent(frame, last, edges, frame.group_ids, encoder)
    has = rep.has_history
    names = dict(User.objects.values_list("pk", "username"))
    users = [names[int(pk)] for pk in frame.customer_ids[has]]
    known = np.array([u in truth for u in users])
    taste = np.array(
        [
            max(truth[u]["top_affinities"].items(), key=lambda kv: kv[1])[0].split(
                " > "
            )[0]
            if u in truth
            else ""
            for u in users
        ]
    )
    sensitivity = np.array(
        [truth[u]["price_sensitivity"] if u in truth else 0 for u in users]
    )
    thirds = np.digitize(
        sensitivity, np.percentile(sensitivity[known], [100 / 3, 200 / 3])
    )
    shares_vectors = np.column_stack(
        [rep.category_shares, rep.price_position * clusters.PRICE_WEIGHT]
    )[has]
    result = {
        "customers": int(has.sum()),
        "customers_with_truth": int(known.sum()),
        "encoder_seconds": round(encoder_seconds, 1),
        "encoder_heldout": {k: round(v, 4) for k, v in encoder_metrics.items()},
    }
    for name, vectors in (
        ("learned codes", rep.vectors[has]),
        ("category shares", shares_vectors),
    ):
        k, centroids, _ = clusters.choose_k(vectors, seed=0)
        labels = clusters.assign(vectors, centroids)
        fixed = clusters.assign(
            vectors, clusters.kmeans(vectors, len(set(taste)), seed=0)
        )
        result[name] = {
            "k": int(k),
            "nmi_taste": round(nmi(taste[known], labels[known]), 4),
            "nmi_price_sensitivity": round(nmi(thirds[known], labels[known]), 4),
            "nmi_taste_at_true_k": round(nmi(taste[known], fixed[known]), 4),
        }
        print(name, result[name], file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
