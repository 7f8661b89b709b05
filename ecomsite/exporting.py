"""Write export files whole or not at all, and the commands that do."""

from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError
from django.http import StreamingHttpResponse

from ecomsite import csvsafe


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


class ExportCommand(BaseCommand):
    """A command writing one CSV file: subclasses set `export` and `noun`."""

    noun = "rows"

    @staticmethod
    def export(path: Path) -> int:
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file to write.")

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.parent.is_dir():
            raise CommandError(f"The folder {path.parent} does not exist.")
        try:
            count = self.export(path)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc}.") from exc
        self.stdout.write(
            f"Exported {count:,} {self.noun} to {path}.", self.style.SUCCESS
        )


class _Echo:
    """A file-like object whose write returns the line, for streaming CSV."""

    def write(self, value):
        return value


def csv_download(rows, filename: str) -> StreamingHttpResponse:
    """Stream rows (lists, the header first) as a CSV download named `filename`."""
    writer = csvsafe.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
