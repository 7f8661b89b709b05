"""The fuzz tests at a larger budget: schema-fuzzed API calls (anonymous, customer,
staff) and fuzzed storefront forms and admin actions. Prints one JSON line.

    python bench/bench_fuzz.py [--form-scale 3] [--api-scale 7] [--seed N]

The scales multiply the example budgets of the form and API fuzz tests (FUZZ_SCALE;
by default over 2,000 form posts and 5,000 API calls); the seed defaults to the day's
(FUZZ_SEED), as in CI, and is printed so that a failure can be replayed.
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
FORM_TESTS = "tests/security/test_form_fuzz.py"
API_TESTS = "tests/security/test_api_fuzz.py::test_api_survives_schema_fuzzing"
API_LINE = re.compile(
    r"^(?P<role>\w+): (?P<requests>\d+) requests, (?P<ok>\d+) of them 2xx"
)
FORM_LINE = re.compile(r"^(?P<target>storefront \(\w+\)|admin): (?P<counts>\{.*\})")


def run_tests(test: str, scale: int, seed: int | None) -> tuple[int, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ecomsite.settings.test",
        "DATABASE_URL": "sqlite://:memory:",
        "FUZZ_SCALE": str(scale),
    }
    if seed is not None:
        env["FUZZ_SEED"] = str(seed)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", test, "-q", "-s", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    print(done.stdout[-3000:], file=sys.stderr, flush=True)
    return done.returncode, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--form-scale", type=int, default=3)
    parser.add_argument("--api-scale", type=int, default=7)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    started = time.monotonic()
    form_code, form_out = run_tests(FORM_TESTS, args.form_scale, args.seed)
    form_seconds = time.monotonic() - started
    api_code, api_out = run_tests(API_TESTS, args.api_scale, args.seed)
    api, forms = {}, {}
    for line in (form_out + api_out).splitlines():
        if match := API_LINE.match(line.lstrip(".")):
            api[match["role"]] = int(match["requests"])
        elif match := FORM_LINE.match(line.lstrip(".")):
            counts = ast.literal_eval(match["counts"])
            forms[match["target"]] = sum(counts.values())
    seed = re.search(r"FUZZ_SEED=(\d+)", form_out + api_out)
    print(
        json.dumps(
            {
                "bench": "fuzz",
                "seed": int(seed[1]) if seed else None,
                "form_scale": args.form_scale,
                "api_scale": args.api_scale,
                "form_posts": forms,
                "form_posts_total": sum(forms.values()),
                "form_passed": form_code == 0,
                "form_seconds": round(form_seconds, 1),
                "api_calls": api,
                "api_calls_total": sum(api.values()),
                "api_passed": api_code == 0,
                "seconds": round(time.monotonic() - started, 1),
            }
        )
    )
    return form_code or api_code


if __name__ == "__main__":
    sys.exit(main())
