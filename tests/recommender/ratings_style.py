"""A generated ratings-style order file: many lines per customer per day, real tastes.

Public ratings data sets (a customer rates tens of titles in one sitting, each title
once) turned into the generic order format look like this: one order id per line,
lines bunched into a few days per customer, what a customer picks driven by a few
tastes, and a strong popularity skew. The file is GENERATED, not real data; the
benchmark and the regression test say so.

Each item has a popularity (Zipf) and belongs to one of `tastes` groups; each customer
likes one to three groups. A customer's lines are spread over 1–5 days, many lines a
day, and drawn without replacement from popularity × taste affinity, where a day's
sitting leans to one of the liked groups (people rate, and buy, in themed sittings).
"""

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

GENERIC_COLUMNS = [
    "order_id",
    "customer_id",
    "sku",
    "quantity",
    "unit_price",
    "ordered_at",
]
START = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RatingsStyle:
    customers: int = 943
    items: int = 1682
    lines: int = 100_000
    tastes: int = 12
    zipf: float = 0.9  # popularity ∝ rank^-zipf
    affinity: float = 8.0  # how much more a customer picks from the groups they like
    mood: float = 4.0  # and, on a given day, from the one they are in the mood for
    seed: int = 0


def ratings_style_lines(spec: RatingsStyle) -> list[tuple]:
    """Return (customer, item, time) rows, each customer's items distinct, time-ordered."""
    rng = np.random.default_rng(spec.seed)
    popularity = (1.0 + rng.permutation(spec.items)) ** -spec.zipf
    group = rng.integers(spec.tastes, size=spec.items)
    # Lines per customer: a long tail (many light customers, a few heavy ones).
    raw = rng.lognormal(0.0, 0.9, spec.customers)
    counts = np.maximum(20, raw / raw.sum() * spec.lines).astype(int)
    counts = np.minimum(counts, spec.items // 2)
    rows = []
    for customer, count in enumerate(counts.tolist()):
        liked = rng.choice(spec.tastes, size=rng.integers(1, 4), replace=False)
        days = np.unique(rng.integers(0, 200, size=rng.integers(1, 6)))
        per_day = np.bincount(rng.integers(len(days), size=count), minlength=len(days))
        first = START + timedelta(hours=int(rng.integers(8, 20)))
        taken = np.zeros(spec.items, bool)
        for day, n in zip(days.tolist(), per_day.tolist(), strict=True):
            # A sitting leans to one of the customer's tastes.
            mood = rng.choice(liked)
            boost = np.where(np.isin(group, liked), spec.affinity, 1.0)
            boost = np.where(group == mood, spec.affinity * spec.mood, boost)
            # Sampling without replacement in proportion to weight: Gumbel top-k.
            keys = np.log(popularity * boost) + rng.gumbel(size=spec.items)
            keys[taken] = -np.inf
            picked = np.argsort(-keys)[:n]
            taken[picked] = True
            rng.shuffle(picked)
            seconds = np.sort(rng.integers(0, 4 * 3600, size=len(picked)))
            for item, second in zip(picked.tolist(), seconds.tolist(), strict=True):
                when = first + timedelta(days=day, seconds=second)
                rows.append((customer, item, when))
    rows.sort(key=lambda row: (row[0], row[2]))
    return rows


def write_orders(path: Path, rows: list[tuple]) -> int:
    """Write rows as a generic order file, one order id a line; return lines written."""
    with Path(path).open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(GENERIC_COLUMNS)
        for number, (customer, item, when) in enumerate(rows, start=1):
            price = f"{5 + item % 20}.99"
            writer.writerow(
                [
                    f"R{number}",
                    f"U{customer}",
                    f"ITEM-{item}",
                    1,
                    price,
                    when.isoformat(),
                ]
            )
    return len(rows)


def keep_back_last_lines(rows: list[tuple]) -> tuple[list[tuple], dict[int, int]]:
    """Return (the rows without each customer's last line, customer -> its item)."""
    last = {}
    for index, (customer, _, _) in enumerate(rows):
        last[customer] = index  # rows are in time order per customer
    kept_back = {rows[i][0]: rows[i][1] for i in last.values()}
    held = set(last.values())
    return [row for i, row in enumerate(rows) if i not in held], kept_back
