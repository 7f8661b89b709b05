"""Write export files whole or not at all."""

from collections.abc import Callable
from pathlib import Path
from typing import TextIO


def write_atomically(path: Path, write: Callable[[TextIO], int]) -> int:
    """Call `write(out)` on a temporary file beside `path`, then rename it into place.

    Return what `write` returns (rows written). A failure leaves no partial file.
    """
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "w", newline="", encoding="utf-8") as out:
            count = write(out)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return count
