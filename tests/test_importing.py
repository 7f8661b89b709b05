"""The shared CSV reader: header, line numbers, rejects and batch transactions."""

import csv
from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import Category
from ecomsite.importing import (
    BatchResult,
    ImportAborted,
    ImportFileError,
    ImportOptions,
    RowRejected,
    decimal,
    external_id,
    integer,
    run_import,
    text,
)

pytestmark = pytest.mark.django_db


class CategoryNames:
    """A tiny real importer: one root category per row."""

    required_columns = ("name",)
    optional_columns = ("note",)
    unit = "categories"

    def parse(self, values):
        return text(values, "name", max_length=20)

    def write(self, rows):
        for row in rows:
            Category.objects.create(name=row.parsed)
        return BatchResult(imported=len(rows))


def write_file(path, text_content):
    path.write_text(text_content, encoding="utf-8")
    return path


def read_rejects(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_rows_are_imported_and_counted(tmp_path):
    path = write_file(tmp_path / "c.csv", "name,note\nMugs,x\nTea,\n")

    summary = run_import(path, CategoryNames(), ImportOptions(progress=False))

    assert sorted(Category.objects.values_list("name", flat=True)) == ["Mugs", "Tea"]
    assert (summary.rows_read, summary.imported, summary.rejected) == (2, 2, 0)
    assert not summary.rejects_path.exists()


def test_bad_rows_go_to_the_rejects_file_with_their_line_numbers(tmp_path):
    content = (
        "name,note\n"
        "Mugs,ok\n"
        ",empty name\n"
        "\n"
        '"Tea\nPots",two lines\n'
        "A name much longer than twenty,x\n"
        "Too,many,columns\n"
    )
    path = write_file(tmp_path / "c.csv", content)

    summary = run_import(path, CategoryNames(), ImportOptions(progress=False))

    rejects = read_rejects(tmp_path / "c.csv.rejects.csv")
    assert [(r["line"], r["name"], r["error"]) for r in rejects] == [
        ("3", "", "name: is empty; expected a value"),
        ("7", "A name much longer than twenty", "name: is 30 characters; "
         "expected at most 20"),
        ("8", "Too", "row: expected 2 columns as in the header, found 3"),
    ]  # fmt: skip
    assert summary.rejected == 3
    assert summary.imported == 2  # Mugs and the quoted two-line name
    assert "rejected: 3" in "\n".join(summary.lines())


def test_rejects_path_can_be_chosen_and_a_stale_one_is_removed(tmp_path):
    rejects = tmp_path / "out" / "bad.csv"
    rejects.parent.mkdir()
    path = write_file(tmp_path / "c.csv", "name\n" + "x" * 30 + "\n")
    run_import(
        path, CategoryNames(), ImportOptions(progress=False, rejects_path=rejects)
    )
    assert rejects.exists()

    write_file(path, "name\nFixed\n")
    run_import(
        path, CategoryNames(), ImportOptions(progress=False, rejects_path=rejects)
    )

    assert not rejects.exists()


def test_header_without_required_columns_is_refused_and_named(tmp_path):
    path = write_file(tmp_path / "c.csv", "title,note\nMugs,x\n")

    with pytest.raises(ImportFileError, match="lacks the required column.*name"):
        run_import(path, CategoryNames(), ImportOptions(progress=False))


def test_header_names_match_without_case_or_spaces(tmp_path):
    path = write_file(tmp_path / "c.csv", " NAME ,Note\nMugs,x\n")

    run_import(path, CategoryNames(), ImportOptions(progress=False))

    assert Category.objects.filter(name="Mugs").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("", "is empty; expected a header row"),
        ("name,name\nx,y\n", "repeats the column"),
    ],
)
def test_files_that_cannot_be_imported_are_refused(tmp_path, content, message):
    path = tmp_path / "c.csv"
    if content is not None:
        write_file(path, content)

    with pytest.raises(ImportFileError, match=message):
        run_import(path, CategoryNames(), ImportOptions(progress=False))


def test_undecodable_file_is_refused(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"name\nMugs\n\xff\xfe broken\n")

    with pytest.raises(ImportFileError, match="not a readable CSV|cannot be read"):
        run_import(path, CategoryNames(), ImportOptions(progress=False))


@pytest.mark.postgres
def test_a_batch_the_database_refuses_leaves_nothing_of_that_batch(tmp_path):
    # Batch 1 (Mugs, Tea) commits; batch 2 creates Pots, then repeats the root name
    # Mugs, which the database refuses (category_unique_root_name).
    path = write_file(tmp_path / "c.csv", "name\nMugs\nTea\nPots\nMugs\nLater\n")

    with pytest.raises(ImportAborted, match="Lines 4–5 were not imported") as aborted:
        run_import(path, CategoryNames(), ImportOptions(batch_size=2, progress=False))

    assert sorted(Category.objects.values_list("name", flat=True)) == ["Mugs", "Tea"]
    assert aborted.value.summary.imported == 2


class DriverFailsOnSecondBatch(CategoryNames):
    """Writes through the driver's own cursor (as COPY does) and fails in batch 2."""

    def __init__(self):
        self.batches = 0

    def write(self, rows):
        self.batches += 1
        result = super().write(rows)
        if self.batches == 2:
            raise connection.Database.OperationalError("connection was terminated")
        return result


def test_a_driver_error_aborts_with_a_sentence_and_keeps_earlier_batches(tmp_path):
    path = write_file(tmp_path / "c.csv", "name\nMugs\nTea\nPots\nPans\n")

    with pytest.raises(ImportAborted, match="connection was terminated") as aborted:
        run_import(
            path,
            DriverFailsOnSecondBatch(),
            ImportOptions(batch_size=2, progress=False),
        )

    assert "run the import again" in str(aborted.value)
    assert sorted(Category.objects.values_list("name", flat=True)) == ["Mugs", "Tea"]


def test_batch_size_must_be_positive(tmp_path):
    path = write_file(tmp_path / "c.csv", "name\nMugs\n")

    with pytest.raises(ImportFileError, match="batch size"):
        run_import(path, CategoryNames(), ImportOptions(batch_size=0, progress=False))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12.5", Decimal("12.50")), ("0.125", Decimal("0.13")), (" 3 ", Decimal("3.00"))],
)
def test_decimal_rounds_half_up_to_the_column(raw, expected):
    assert decimal({"price": raw}, "price") == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "price: is empty; expected a number"),
        ("abc", "price: 'abc' is not a number"),
        ("-1", "price: -1 is below 0"),
        ("NaN", "price: 'NaN' is not a finite number"),
        ("10000000000", "price: 10000000000 is too large"),
    ],
)
def test_decimal_rejections_name_field_and_expectation(raw, message):
    with pytest.raises(RowRejected, match=message):
        decimal({"price": raw}, "price", min_value=Decimal(0))


def test_integer_and_external_id_accept_the_float_form_of_exports():
    assert integer({"q": "3.0"}, "q", allow_float_form=True) == 3
    assert external_id({"id": "12345.0"}, "id") == "12345"
    with pytest.raises(RowRejected, match="q: '3.5' is not a whole number"):
        integer({"q": "3.5"}, "q", allow_float_form=True)
    with pytest.raises(RowRejected, match="q: -2 is below 1"):
        integer({"q": "-2"}, "q", min_value=1)


def test_rejects_into_a_missing_folder_is_refused_before_importing(tmp_path):
    path = write_file(tmp_path / "c.csv", "name\nMugs\n")
    options = ImportOptions(progress=False, rejects_path=tmp_path / "no" / "r.csv")

    with pytest.raises(ImportFileError, match="pass --rejects PATH"):
        run_import(path, CategoryNames(), options)

    assert not Category.objects.exists()
