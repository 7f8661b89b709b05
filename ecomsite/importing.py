"""Stream CSV files into the database: the one reader every import uses.

An import is a `RowImporter`: `parse()` turns one raw row into a value (or raises
`RowRejected` / `RowSkipped`), `write()` stores a batch of parsed rows. `run_import()`
reads the file lazily, checks the header, numbers the lines (line 1 is the header),
collects rejects into a CSV beside the input, writes each batch in its own
transaction and counts everything in an `ImportSummary`.
"""

import csv
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone
from tqdm import tqdm

from . import csvsafe

DEFAULT_ENCODING = "utf-8-sig"


class ImportFileError(Exception):
    """The file cannot be imported at all; the message says why in one sentence."""


class ImportAborted(ImportFileError):
    """The database refused a batch; earlier batches are saved, that one is not."""

    def __init__(self, message: str, summary: "ImportSummary"):
        super().__init__(message)
        self.summary = summary


class RowRejected(ValueError):
    """A row cannot be imported; the message names the field and what was expected."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


class RowSkipped(Exception):
    """A valid row that is deliberately not imported; the message is the reason."""


@dataclass(frozen=True)
class Row:
    """One data row of the file: its first line number, raw values and parsed value."""

    line: int
    values: dict[str, str]
    parsed: Any = None


@dataclass
class BatchResult:
    """What `write()` did with one batch; merged into the summary once it commits."""

    imported: int = 0
    updated: int = 0
    already_present: int = 0
    created: Counter = field(default_factory=Counter)
    rejects: list[tuple[Row, str]] = field(default_factory=list)


@dataclass
class ImportSummary:
    """Counts of one import run, printed at the end."""

    path: Path
    unit: str = "rows"
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    already_present: int = 0
    rejected: int = 0
    skipped: Counter = field(default_factory=Counter)
    created: Counter = field(default_factory=Counter)
    batches: int = 0
    rejects_path: Path | None = None
    notes: list[str] = field(default_factory=list)

    def add(self, result: BatchResult) -> None:
        self.imported += result.imported
        self.updated += result.updated
        self.already_present += result.already_present
        self.created.update(result.created)
        self.batches += 1

    def lines(self) -> list[str]:
        """Return the summary as lines for people to read."""
        out = [
            f"{self.path}: {self.rows_read:,} rows read in {self.batches:,} batches.",
            f"  imported (new {self.unit}): {self.imported:,}",
        ]
        if self.updated:
            out.append(f"  updated: {self.updated:,}")
        out.append(f"  skipped as already present: {self.already_present:,}")
        if self.skipped:
            out.append(f"  skipped on purpose: {sum(self.skipped.values()):,}")
        for reason, count in sorted(self.skipped.items()):
            out.append(f"    {count:,} × {reason}")
        out.append(f"  rejected: {self.rejected:,}")
        for kind, count in sorted(self.created.items()):
            if count:
                out.append(f"  {kind} created: {count:,}")
        out.extend(f"  {note}" for note in self.notes)
        if self.already_present and not (self.imported or self.updated):
            out.append("Nothing new: every valid row was already in the database.")
        if self.rejected:
            out.append(
                f"Rejected rows, with line and error, are in {self.rejects_path}."
            )
        return out


class RowImporter(Protocol):
    """What `run_import()` needs from a domain importer."""

    required_columns: Sequence[str]
    optional_columns: Sequence[str]
    unit: str

    def parse(self, values: dict[str, str]) -> Any: ...

    def write(self, rows: list[Row]) -> BatchResult: ...


@dataclass(frozen=True)
class ImportOptions:
    """Options shared by every import command."""

    batch_size: int | None = None
    rejects_path: Path | None = None
    progress: bool | None = None
    encoding: str = DEFAULT_ENCODING


def add_import_arguments(parser) -> None:
    """Add the options every import command accepts to an argparse parser."""
    parser.add_argument("file", type=Path, help="CSV file with a header row.")
    parser.add_argument(
        "--rejects",
        type=Path,
        help="Where to write rejected rows (default: FILE.rejects.csv). "
        "A stale file there is removed when a run has no rejects.",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        help="Rows per transaction (default: settings.IMPORT_BATCH_SIZE).",
    )
    parser.add_argument(
        "--encoding", default=DEFAULT_ENCODING, help="Text encoding of the file."
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="Do not draw a progress bar."
    )


def import_options(options: dict) -> ImportOptions:
    """Return the shared import options from a command's parsed options."""
    return ImportOptions(
        batch_size=options.get("batch_size"),
        rejects_path=options.get("rejects"),
        progress=False if options.get("no_progress") else None,
        encoding=options.get("encoding") or DEFAULT_ENCODING,
    )


def default_rejects_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.csv")


class CsvRows:
    """Iterate over a CSV file as `Row`s, after checking its header.

    Header names are matched without regard to case or surrounding spaces and are
    renamed to the importer's spelling. Blank lines are ignored.
    """

    def __init__(
        self,
        path: Path,
        *,
        required: Sequence[str],
        optional: Sequence[str] = (),
        encoding: str = DEFAULT_ENCODING,
    ):
        self.path = Path(path)
        if not self.path.is_file():
            raise ImportFileError(f"{self.path} does not exist or is not a file.")
        try:
            self._file = open(self.path, newline="", encoding=encoding)  # noqa: SIM115
        except (OSError, LookupError) as exc:
            raise ImportFileError(f"{self.path} cannot be opened: {exc}.") from exc
        self._reader = csv.reader(self._file)
        try:
            try:
                header = next(self._reader)
            except StopIteration:
                raise ImportFileError(
                    f"{self.path} is empty; expected a header row with the columns "
                    f"{', '.join(required)}."
                ) from None
            except (UnicodeDecodeError, csv.Error) as exc:
                raise ImportFileError(
                    f"{self.path} is not a readable CSV file ({exc})."
                ) from exc
            self.header = [name.strip() for name in header]
            self.columns = self._canonical_columns(required, optional)
        except ImportFileError:
            self._file.close()
            raise

    def _canonical_columns(self, required, optional) -> list[str]:
        known = {name.lower(): name for name in (*required, *optional)}
        columns = [known.get(name.lower(), name) for name in self.header]
        duplicates = sorted({name for name in columns if columns.count(name) > 1})
        if duplicates:
            raise ImportFileError(
                f"The header of {self.path} repeats the column(s) "
                f"{', '.join(duplicates)}."
            )
        missing = [name for name in required if name not in columns]
        if missing:
            raise ImportFileError(
                f"The header of {self.path} lacks the required column(s) "
                f"{', '.join(missing)} (found: {', '.join(self.header) or 'nothing'})."
            )
        return columns

    def __iter__(self) -> Iterator[Row | tuple[int, list[str], str]]:
        """Yield a Row per data row, or (line, values, error) for a malformed one."""
        columns = self.columns
        width = len(columns)
        line = self._reader.line_num + 1
        try:
            for values in self._reader:
                start, line = line, self._reader.line_num + 1
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                if len(values) != width:
                    yield (
                        start,
                        values,
                        f"row: expected {width} columns as in the header, "
                        f"found {len(values)}",
                    )
                    continue
                if any("\x00" in value for value in values):
                    # PostgreSQL cannot store NUL, and paths cannot contain it.
                    pairs = zip(columns, values, strict=True)
                    name = next(n for n, v in pairs if "\x00" in v)
                    error = f"{name}: contains a NUL character; expected plain text"
                    yield (start, values, error)
                    continue
                yield Row(start, dict(zip(columns, values, strict=True)))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ImportFileError(
                f"{self.path} cannot be read after line {line - 1} ({exc})."
            ) from exc
        finally:
            self._file.close()

    def close(self) -> None:
        self._file.close()


class RejectsWriter:
    """Write rejected rows, in their original columns plus `line` and `error`.

    `redact(values)` (column -> text) may blank what a rejects file must not keep,
    e.g. the id of a customer erased on request.
    """

    def __init__(
        self,
        path: Path,
        header: list[str],
        encoding: str = "utf-8",
        redact: Callable[[dict[str, str]], dict[str, str]] | None = None,
    ):
        folder = path.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise ImportFileError(
                f"Rejected rows cannot be written to {path}: the folder is missing or "
                "read-only; pass --rejects PATH."
            )
        self.path = path
        self.header = header
        self.encoding = encoding
        self.redact = redact
        self.count = 0
        self._file = None
        self._writer = None

    def write(self, line: int, values: Sequence[str], error: str) -> None:
        if self._writer is None:
            self._file = open(self.path, "w", newline="", encoding=self.encoding)  # noqa: SIM115
            self._writer = csvsafe.writer(self._file)
            self._writer.writerow([*self.header, "line", "error"])
        width = len(self.header)
        padded = list(values[:width]) + [""] * (width - len(values))
        if self.redact is not None:
            named = dict(zip(self.header, padded, strict=True))
            padded = list(self.redact(named).values())
        self._writer.writerow([*padded, line, error])
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        elif self.path.exists():
            self.path.unlink()  # a stale file from an earlier run would mislead


def count_data_lines(path: Path) -> int:
    """Return the number of lines after the header (cheap; for the progress bar)."""
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)


def run_import(
    path: Path, importer: RowImporter, options: ImportOptions | None = None
) -> ImportSummary:
    """Import a CSV file with `importer`, in transactional batches; return the counts.

    Raise ImportFileError when the file is missing, unreadable or lacks required
    columns, and ImportAborted when the database refuses a batch (nothing of that
    batch is written; re-running the import completes the data).
    """
    options = options or ImportOptions()
    path = Path(path)
    batch_size = options.batch_size
    if batch_size is None:
        batch_size = settings.IMPORT_BATCH_SIZE
    if batch_size < 1:
        raise ImportFileError("The batch size must be at least 1.")
    rows = CsvRows(
        path,
        required=importer.required_columns,
        optional=importer.optional_columns,
        encoding=options.encoding,
    )
    summary = ImportSummary(path=path, unit=importer.unit)
    summary.rejects_path = Path(options.rejects_path or default_rejects_path(path))
    try:
        rejects = RejectsWriter(
            summary.rejects_path,
            rows.header,
            redact=getattr(importer, "redact_reject", None),
        )
    except ImportFileError:
        rows.close()
        raise
    progress = options.progress
    if progress is None:
        progress = sys.stderr.isatty()
    bar = tqdm(
        total=count_data_lines(path) if progress else None,
        unit=" rows",
        unit_scale=True,
        file=sys.stderr,
        disable=not progress,
        desc=path.name,
    )

    def flush(batch: list[Row]) -> None:
        try:
            with transaction.atomic():
                result = importer.write(batch)
        # COPY goes to the driver's cursor directly, so its errors are the driver's own.
        except (DatabaseError, connection.Database.Error) as exc:
            raise ImportAborted(
                f"Lines {batch[0].line}–{batch[-1].line} were not imported: the "
                f"database refused them ({exc}). Nothing of that batch was written; "
                f"the batches before it are saved. Fix the cause and run the import "
                f"again: rows already imported are skipped.",
                summary,
            ) from exc
        summary.add(result)
        for row, error in result.rejects:
            rejects.write(row.line, list(row.values.values()), error)
        summary.rejected = rejects.count
        bar.update(len(batch))

    batch: list[Row] = []
    try:
        for item in rows:
            summary.rows_read += 1
            if isinstance(item, tuple):
                rejects.write(*item)
                summary.rejected = rejects.count
                bar.update(1)
                continue
            try:
                parsed = importer.parse(item.values)
            except RowRejected as exc:
                rejects.write(item.line, list(item.values.values()), str(exc))
                summary.rejected = rejects.count
                bar.update(1)
                continue
            except RowSkipped as exc:
                summary.skipped[str(exc)] += 1
                bar.update(1)
                continue
            batch.append(Row(item.line, item.values, parsed))
            if len(batch) >= batch_size:
                flush(batch)
                batch = []
        if batch:
            flush(batch)
    finally:
        rows.close()
        rejects.close()
        bar.close()
    return summary


def copy_insert(
    model: type, fields: Sequence[str], rows: Sequence[tuple], *, key: str
) -> dict[Any, int]:
    """Insert `rows` (tuples of `fields`' values; ids for foreign keys) into the
    model's table; return {their `key` value: new pk}.

    The model's other fields get their defaults (now for auto-now dates), worked out
    once per call rather than once per row. On PostgreSQL the rows go by COPY into a
    temporary table and from there by one INSERT … SELECT … ON CONFLICT DO NOTHING
    RETURNING, as order lines do: no model instances, no statement with thousands of
    parameters. A row that conflicts with one already there (a unique key) is left out
    of the result. Other databases: `bulk_create`, with the same result.
    """
    if not rows:
        return {}
    meta = model._meta
    given = [meta.get_field(name) for name in fields]
    others = [
        f
        for f in meta.concrete_fields
        if f not in given and not (f.primary_key and not f.remote_field)
    ]
    now = timezone.now()
    defaults = [now if _is_auto_now(f) else f.get_default() for f in others]
    key_field = meta.get_field(key)
    if connection.vendor != "postgresql":
        return _bulk_create_rows(model, given, rows, others, defaults, key_field)
    quote = connection.ops.quote_name
    table, stage = quote(meta.db_table), quote(f"import_stage_{meta.db_table}")
    given_columns = ", ".join(quote(f.column) for f in given)
    all_columns = ", ".join(quote(f.column) for f in given + others)
    constants = "".join(f", %s::{f.db_type(connection)}" for f in others)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
            f"SELECT {given_columns} FROM {table} WITH NO DATA"
        )
        with cursor.copy(f"COPY {stage} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({all_columns}) "
            f"SELECT {given_columns}{constants} FROM {stage} ON CONFLICT DO NOTHING "
            f"RETURNING {quote(key_field.column)}, {quote(meta.pk.column)}",
            [
                f.get_db_prep_save(v, connection)
                for f, v in zip(others, defaults, strict=True)
            ],
        )
        created = dict(cursor.fetchall())
        cursor.execute(f"DROP TABLE {stage}")
    return created


def _is_auto_now(field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


def _bulk_create_rows(model, given, rows, others, defaults, key_field) -> dict:
    names = [f.attname for f in given] + [f.attname for f in others]
    objects = [
        model(**dict(zip(names, (*row, *defaults), strict=True))) for row in rows
    ]
    model.objects.bulk_create(objects, ignore_conflicts=True)
    keys = [getattr(obj, key_field.attname) for obj in objects]
    found = model.objects.filter(**values_in(key_field.attname, keys))
    return dict(found.values_list(key_field.attname, "pk"))


def values_in(field: str, values: Sequence[Any]) -> dict:
    """Return filter arguments for `field` in `values`, one array parameter on
    PostgreSQL (thousands of placeholders are slow for psycopg to parse)."""
    values = list(values)
    if connection.vendor != "postgresql" or len(values) < 100:
        return {f"{field}__in": values}
    array = "bigint[]" if all(isinstance(v, int) for v in values) else "text[]"
    return {f"{field}__in": RawSQL(f"SELECT unnest(%s::{array})", [values])}


def analyze_tables(models: Sequence[type]) -> None:
    """Refresh PostgreSQL's planner statistics of tables a bulk load has grown.

    Without them (autovacuum lags behind, or is off) the planner keeps thinking the
    tables are tiny and scans them whole for every batch's look-ups.
    """
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


class GrowthAnalyzer:
    """Call `analyze_tables` after batches 1, 4, 16, 64… and once at the end."""

    def __init__(self, models: Sequence[type]):
        self.models = models
        self.batches = 0
        self._next = 1

    def batch_written(self) -> None:
        self.batches += 1
        if self.batches == self._next:
            analyze_tables(self.models)
            self._next *= 4

    def finish(self) -> None:
        if self.batches:
            analyze_tables(self.models)


# --- Field parsers: one message style for every import -------------------------


def text(values: dict[str, str], name: str, *, max_length: int | None = None) -> str:
    """Return the stripped value of a required text field."""
    value = (values.get(name) or "").strip()
    if not value:
        raise RowRejected(name, "is empty; expected a value")
    if max_length and len(value) > max_length:
        raise RowRejected(
            name, f"is {len(value)} characters; expected at most {max_length}"
        )
    return value


def optional_text(
    values: dict[str, str], name: str, *, max_length: int | None = None
) -> str:
    """Return the stripped value of an optional text field ('' when empty or absent)."""
    value = (values.get(name) or "").strip()
    if max_length and len(value) > max_length:
        raise RowRejected(
            name, f"is {len(value)} characters; expected at most {max_length}"
        )
    return value


def decimal(
    values: dict[str, str],
    name: str,
    *,
    required: bool = True,
    min_value: Decimal | None = None,
    max_digits: int = 12,
    decimal_places: int = 2,
    places_hint: str = "12.50",
) -> Decimal | None:
    """Return a decimal field, checked against the range of its database column."""
    raw = (values.get(name) or "").strip()
    if not raw:
        if required:
            raise RowRejected(
                name, f"is empty; expected a number such as {places_hint}"
            )
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise RowRejected(
            name, f"{raw[:40]!r} is not a number; expected e.g. {places_hint}"
        ) from None
    if not value.is_finite():
        raise RowRejected(name, f"{raw[:40]!r} is not a finite number")
    if min_value is not None and value < min_value:
        raise RowRejected(
            name, f"{raw} is below {min_value}; expected at least {min_value}"
        )
    return money_round(value, name, max_digits=max_digits, places=decimal_places)


def money_round(
    value: Decimal, name: str, *, max_digits: int = 12, places: int = 2
) -> Decimal:
    """Round half up to `places`; reject values too large for the database column."""
    if abs(value) >= Decimal(10) ** (max_digits - places):
        raise RowRejected(
            name,
            f"{value} is too large; expected at most "
            f"{max_digits - places} digits before the point",
        )
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def integer(
    values: dict[str, str],
    name: str,
    *,
    min_value: int | None = None,
    max_value: int = 2_147_483_647,
    allow_float_form: bool = False,
) -> int:
    """Return an integer field; `allow_float_form` also takes `3.0` (pandas exports)."""
    raw = (values.get(name) or "").strip()
    if not raw:
        raise RowRejected(name, "is empty; expected a whole number")
    try:
        value = int(raw)
    except ValueError:
        value = None
        if allow_float_form:
            try:
                number = float(raw)
            except ValueError:
                number = None
            if number is not None and number.is_integer():
                value = int(number)
        if value is None:
            raise RowRejected(
                name, f"{raw[:40]!r} is not a whole number; expected e.g. 3"
            ) from None
    if min_value is not None and value < min_value:
        raise RowRejected(
            name, f"{raw} is below {min_value}; expected at least {min_value}"
        )
    if value > max_value:
        raise RowRejected(name, f"{raw} is too large; expected at most {max_value:,}")
    return value


def external_id(values: dict[str, str], name: str, *, max_length: int = 64) -> str:
    """Return an identifier, undoing the `12345.0` that pandas exports write."""
    value = text(values, name, max_length=max_length + 2)
    if value.endswith(".0") and value[:-2].isdigit():
        value = value[:-2]
    if len(value) > max_length:
        raise RowRejected(
            name, f"is {len(value)} characters; expected at most {max_length}"
        )
    return value


def iso_date(values: dict[str, str], name: str) -> date:
    """Return a date field written as YYYY-MM-DD."""
    raw = (values.get(name) or "").strip()
    if not raw:
        raise RowRejected(name, "is empty; expected a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(raw[:10] if "T" in raw or " " in raw else raw)
    except ValueError:
        raise RowRejected(
            name, f"{raw[:40]!r} is not a date; expected YYYY-MM-DD"
        ) from None


class AwareDatetimes:
    """Parse timestamps into aware datetimes; naive ones are in settings.TIME_ZONE.

    Consecutive rows of an order usually repeat the timestamp, so the last
    conversion is remembered.
    """

    def __init__(self, parse: Callable[[str], datetime] = datetime.fromisoformat):
        self._parse = parse
        self._zone: tzinfo = ZoneInfo(settings.TIME_ZONE)
        self._last: tuple[str, datetime] | None = None

    def __call__(self, values: dict[str, str], name: str, expected: str) -> datetime:
        raw = (values.get(name) or "").strip()
        if self._last is not None and self._last[0] == raw:
            return self._last[1]
        if not raw:
            raise RowRejected(name, f"is empty; expected {expected}")
        try:
            moment = self._parse(raw)
        except ValueError:
            raise RowRejected(
                name, f"{raw[:40]!r} is not a timestamp; expected {expected}"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self._zone)
        self._last = (raw, moment)
        return moment


class ImportCommand(BaseCommand):
    """A management command that imports one CSV file and prints the summary.

    Subclasses add their own options and implement `run(path, options, shared)`.
    """

    def add_arguments(self, parser):
        add_import_arguments(parser)

    def run(self, path: Path, options: dict, shared: ImportOptions) -> ImportSummary:
        raise NotImplementedError

    def handle(self, *args, **options):
        try:
            summary = self.run(options["file"], options, import_options(options))
        except ImportAborted as exc:
            self._write_summary(exc.summary)
            raise CommandError(str(exc)) from exc
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        self._write_summary(summary)

    def _write_summary(self, summary: ImportSummary) -> None:
        lines = summary.lines()
        self.stdout.write(lines[0], self.style.SUCCESS)
        for line in lines[1:]:
            self.stdout.write(line)
