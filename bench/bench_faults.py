"""Faults at full strength: ten SIGKILLed workers during training and ten during batch
inference, a killed database connection mid-import, a full artifact disk.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_faults \
    TEST_REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/bench_faults.py

Runs the fault tests of the suite (which kill fewer workers, to keep `make test`
short) with FAULT_KILLS=10 against the PostgreSQL server of DATABASE_URL and the
Redis of TEST_REDIS_URL (default db 13), and prints one JSON line: which passed and
how long each took. Needs root for the tmpfs of the full-disk test.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KILLS = os.environ.get("FAULT_KILLS", "10")
TESTS = {
    "training, workers killed": "tests/integration/test_worker_killed_mid_training.py",
    "inference, workers killed": "tests/integration/test_worker_killed_mid_inference.py",
    "import, connection killed": "tests/integration/test_import_connection_killed.py",
    "artifact disk full": "tests/mlops/test_disk_full.py",
}


def main() -> int:
    database = os.environ.get("DATABASE_URL", "")
    if not database.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database.")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ecomsite.settings.test",
        "TEST_DATABASE_URL": database,
        "TEST_REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13"),
        "FAULT_KILLS": KILLS,
    }
    results = {}
    for name, path in TESTS.items():
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", path, "-q", "-p", "no:cacheprovider"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        results[name] = {  # a skipped test (no root, no broker) is not a pass
            "passed": done.returncode == 0 and "skipped" not in done.stdout,
            "seconds": round(time.monotonic() - started, 1),
        }
        if done.returncode != 0:
            print(done.stdout[-3000:], file=sys.stderr)
    print(json.dumps({"bench": "faults", "kills": int(KILLS), **results}), flush=True)
    return 0 if all(r["passed"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
