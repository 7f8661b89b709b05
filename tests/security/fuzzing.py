"""Seed, budget and hostile values shared by the fuzz tests.

The seed changes every day (UTC date) so that CI explores new examples, and is
printed in the pytest header and in every failure; `FUZZ_SEED=<n>` replays a run.
`FUZZ_SCALE=<k>` multiplies every budget (`make bench` runs a longer fuzz).
"""

import os
from datetime import UTC, datetime

from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st


def fuzz_seed() -> int:
    """Return FUZZ_SEED when set, else today's UTC date as YYYYMMDD."""
    configured = os.environ.get("FUZZ_SEED", "").strip()
    if configured:
        return int(configured)
    return int(datetime.now(UTC).strftime("%Y%m%d"))


def fuzz_scale() -> int:
    return max(int(os.environ.get("FUZZ_SCALE", "1") or 1), 1)


def replay_hint() -> str:
    return f"replay with FUZZ_SEED={fuzz_seed()} FUZZ_SCALE={fuzz_scale()}"


def explore(examples: int):
    """Decorate a @given function: `examples` × FUZZ_SCALE examples from the seed."""

    def decorate(test):
        configured = settings(
            max_examples=examples * fuzz_scale(),
            deadline=None,
            derandomize=False,
            database=None,
            suppress_health_check=list(HealthCheck),
        )(test)
        return seed(fuzz_seed())(configured)

    return decorate


# Values that broke parsers before: non-ASCII digits that str.isdigit() accepts,
# numbers too large for a database integer, NUL, formula and markup text.
TRICKY_TEXT = [
    "²",
    "٣",
    "１２",
    "-1",
    "0",
    "1.5",
    "1e308",
    "NaN",
    "99999999999999999999",
    "9223372036854775808",
    "",
    " ",
    "\x00",
    "=1+1",
    "@SUM(A1)",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "\u202e",
]

hostile_text = st.one_of(
    st.sampled_from(TRICKY_TEXT),
    st.text(max_size=30),
    st.integers().map(str),
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=6),
)
