"""The fuzz tests at a larger budget: schema-fuzzed API calls (anonymous, customer,
staff) and fuzzed storefront forms and admin actions. Prints one JSON line.

    python bench/bench_fuzz.py [--scale 7] [--seed N]

`--scale` multiplies every example budget (FUZZ_SCALE); the seed defaults to the
day's (FUZZ_SEED), as in CI, and is printed so that a failure can be replayed.
"""

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = [
    "tests/security/test_api_fuzz.py::test_api_survives_schema_fuzzing",
    "tests/security/test_form_fuzz.py",
]
API_LINE = re.compile(
    r"^(?P<role>\w+): (?P<requests>\d+) requests, (?P<ok>\d+) of them 2xx"
)
FORM_LINE = re.compile(r"^(?P<target>storefront \(\w+\)|admin): (?P<counts>\{.*\})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=7)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ecomsite.settings.test",
        "DATABASE_URL": "sqlite://:memory:",
        "FUZZ_SCALE": str(args.scale),
    }
    if args.seed is not None:
        env["FUZZ_SEED"] = str(args.seed)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *TESTS, "-q", "-s", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    api, forms = {}, {}
    for line in done.stdout.splitlines():
        if match := API_LINE.match(line.lstrip(".")):
            api[match["role"]] = int(match["requests"])
        elif match := FORM_LINE.match(line.lstrip(".")):
            counts = ast.literal_eval(match["counts"])
            forms[match["target"]] = sum(counts.values())
    seed = re.search(r"FUZZ_SEED=(\d+)", done.stdout)
    print(done.stdout[-3000:], file=sys.stderr)
    print(
        json.dumps(
            {
                "bench": "fuzz",
                "seed": int(seed[1]) if seed else None,
                "scale": args.scale,
                "api_calls": api,
                "api_calls_total": sum(api.values()),
                "form_posts": forms,
                "form_posts_total": sum(forms.values()),
                "passed": done.returncode == 0,
                "seconds": round(time.monotonic() - started, 1),
            }
        )
    )
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
