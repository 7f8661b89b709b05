"""Helpers for the import command tests: write a CSV, run a command, read its rejects."""

import csv
from io import StringIO

from django.core.management import call_command


def write_rows(path, header, rows):
    """Write a CSV with a header row; return its path."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_import(command, path, *args) -> str:
    """Run an import command without a progress bar; return what it printed."""
    out = StringIO()
    call_command(command, str(path), "--no-progress", *args, stdout=out)
    return out.getvalue()


def rejects_of(path) -> list[tuple[str, str]]:
    """Return (line, error) of each row of the rejects file written beside `path`."""
    with open(f"{path}.rejects.csv", newline="", encoding="utf-8") as handle:
        return [(row["line"], row["error"]) for row in csv.DictReader(handle)]
