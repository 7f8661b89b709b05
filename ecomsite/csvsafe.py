"""CSV writing that spreadsheets cannot run: every export goes through `writer()`.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a
formula by Excel, LibreOffice and Google Sheets ("CSV injection"): a customer who
names themselves `=HYPERLINK(...)` would run it in an operator's spreadsheet. Such
text cells get a leading apostrophe, which spreadsheets show as text. Numbers,
including negative ones written as text, are left as they are.
"""

import csv
import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise(value):
    """Return `value`, with a leading apostrophe when it is text a spreadsheet
    would read as a formula."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


class SafeWriter:
    """A `csv.writer` whose rows are neutralised cell by cell."""

    def __init__(self, out, *args, **kwargs):
        self._writer = csv.writer(out, *args, **kwargs)

    @property
    def dialect(self):
        return self._writer.dialect

    def writerow(self, row):
        return self._writer.writerow([neutralise(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(out, *args, **kwargs) -> SafeWriter:
    """Return a CSV writer for exports, as `csv.writer(out, ...)` but formula-safe."""
    return SafeWriter(out, *args, **kwargs)
