"""`make bench`: run every benchmark on SQLite and PostgreSQL and print the figures.

Each benchmark is a script of its own that prints one JSON line; this runner gives each
a fresh scratch database (SQLite under /tmp, PostgreSQL databases named bench_*) and
collects the lines into var/bench/latest.json. PostgreSQL is taken from BENCH_PG_URL
(default postgres://postgres@127.0.0.1:5432). BENCH_QUICK=1 runs smaller sizes.
Never part of the test run.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
QUICK = os.environ.get("BENCH_QUICK") == "1"


def scale(full: int, quick: int) -> str:
    return str(quick if QUICK else full)


BENCHES = [
    # (name, script, database, extra args)
    ("demo store", "bench_demo_store.py", "sqlite", []),
    ("demo store", "bench_demo_store.py", "postgres", []),
    (
        "demo store, medium",
        "bench_demo_store.py",
        "postgres",
        ["--customers", scale(20000, 4000), "--products", scale(2000, 500)],
    ),
    (
        "import_orders",
        "bench_import_orders.py",
        "sqlite",
        ["--lines", scale(200_000, 50_000)],
    ),
    (
        "import_orders",
        "bench_import_orders.py",
        "postgres",
        ["--lines", scale(1_000_000, 100_000), "--rerun"],
    ),
    (
        "batch inference",
        "bench_inference.py",
        "postgres",
        [
            "--customers",
            scale(100_000, 10_000),
            "--products",
            scale(10_000, 2_000),
            "--lines",
            scale(2_000_000, 100_000),
            "--default-training",
        ],
    ),
    ("platform overhead", "bench_platform_overhead.py", "postgres", []),
    ("fuzz: API calls, forms and admin actions", "bench_fuzz.py", "sqlite", []),
    (
        "product pages",
        "bench_product_pages.py",
        "postgres",
        ["--products", scale(50_000, 5_000), "--lines", scale(200_000, 20_000)],
    ),
    (
        "faults: 10 killed workers each, killed import, full disk",
        "bench_faults.py",
        "postgres",
        [],
    ),
    (
        "load: gunicorn, 50 clients, 200 buyers of the last 10 units",
        "bench_load.py",
        "postgres",
        ["--clients", "50", "--seconds", scale(60, 15)],
    ),
    ("demo store goals: recommender and demand", "bench_demo_goals.py", "sqlite", []),
    ("image categories (fashion photos)", "bench_image_categories.py", "sqlite", []),
    ("behaviour clusters vs demo truth", "bench_segments_clusters.py", "sqlite", []),
    ("generic order file (dunnhumby)", "bench_generic_orders.py", "sqlite", []),
    *(
        (
            f"recommendations in the basket protocol: {source}",
            "bench_recommender_protocol.py",
            "sqlite",
            [source],
        )
        for source in ("dunnhumby", "online-retail", "ratings-style")
    ),
    (
        "demand forecast, Dominick's via import",
        "bench_forecast_import.py",
        "sqlite",
        [],
    ),
    (
        "demand kind at scale: training and inference through the platform",
        "bench_forecast_scale.py",
        "postgres",
        ["--products", scale(10_000, 1_000)],
    ),
    (
        "demand model at scale (synthetic)",
        "bench_forecast_demand_ml.py",
        "sqlite",
        ["--series", scale(10_000, 1_000), "--days", "730"],
    ),
]


def database_url(kind: str, name: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / (name + '.sqlite3')}"
    subprocess.run(
        ["psql", f"{PG}/postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {name}"],
        check=True,
    )
    subprocess.run(
        ["psql", f"{PG}/postgres", "-q", "-c", f"CREATE DATABASE {name}"], check=True
    )
    return f"{PG}/{name}"


def migrate(env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
    )


def main() -> int:
    results, failures = [], []
    workdir = Path(tempfile.mkdtemp(prefix="ecomsite-bench-"))
    for index, (name, script, kind, args) in enumerate(BENCHES):
        db_name = f"bench_{index}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ecomsite.settings.local",
            "DEBUG": "false",
            "DATABASE_URL": database_url(kind, db_name, workdir),
            "VAR_DIR": str(workdir / f"var_{index}"),
        }
        print(f"== {name} on {kind} {' '.join(args)}", file=sys.stderr, flush=True)
        migrate(env)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, f"bench/{script}", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            failures.append(f"{name} on {kind} (exit {done.returncode})")
            continue
        result = {
            "bench": name,
            "database": kind,
            "args": args,
            "wall_seconds": round(time.monotonic() - started, 1),
            **json.loads(lines[-1]),
        }
        results.append(result)
        print(json.dumps(result), flush=True)
        if kind == "postgres":
            subprocess.run(
                [
                    "psql",
                    f"{PG}/postgres",
                    "-q",
                    "-c",
                    f"DROP DATABASE IF EXISTS {db_name}",
                ],
                check=False,
            )
    out = ROOT / "var" / "bench" / "latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"Results in {out}", file=sys.stderr)
    if failures:
        print("Failed: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
