"""Property tests: broken CSV files fed to every import command.

Whatever the bytes, an import either finishes (bad rows go to the rejects file, each
with its line and the column at fault) or stops with a CommandError that says why;
never a traceback. A failed import leaves the database as it was, and running a
successful import again changes nothing.
"""

import csv
import io
import itertools
import re
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import User
from catalog.models import Category, PriceChange, Product, ProductImage, StockMovement
from forecasting.models import SalesRecord
from orders.models import Order, OrderLine
from tests.admin_support import png_bytes
from tests.security.fuzzing import explore

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# The day's seed (printed in the pytest header; FUZZ_SEED replays, FUZZ_SCALE runs
# longer): each CI run explores other files.
FUZZ = explore(50)
MODELS = [
    User,
    Category,
    Product,
    PriceChange,
    StockMovement,
    ProductImage,
    Order,
    OrderLine,
    SalesRecord,
]

SKU = ["MUG", "SKU-1", "22423", "85123A", "  tea  "]
VALID = {
    "id": SKU + ["C-7", "12345.0", "17850"],
    "text": ["Mug", "Café crème", "Tea > Green", "Gift, boxed", 'name with "quotes"'],
    "int": ["1", "2", "12", "3.0"],
    "decimal": ["3.50", "0", "12", "1e2", "0.005"],
    "date": ["2024-03-01", "2024-03-04", "2024-03-01T10:00:00"],
    # Sales history on weekly dates, so that the frequency can be detected.
    "sales_sku": ["MUG", "TEA"],  # (broken_csv draws a new SKU per file)
    "week_date": ["2024-03-04", "2024-03-11", "2024-03-18"],
    # Online Retail: products are codes starting with five digits; invoices numbers.
    "retail_code": ["22423", "85123A", "21479"],
    "invoice": ["536365", "536366", "536367"],
    "timestamp": ["2024-03-01T14:30:00", "2024-03-01 14:30:00+01:00", "2024-03-01"],
    "us_timestamp": ["12/1/2010 8:26", "1/13/2011 10:01"],
    "flag": ["1", "0", "yes", "no", "true"],
    "currency": ["EUR", "gbp", ""],
    "category": ["Kitchen > Mugs", "Tea", ""],
    "image": ["", "good.png"],
}
HOSTILE = [
    "",
    "-2",
    "A >  > B",
    "bad.png",
    "missing.png",
    "../outside.png",
    "/etc/passwd",
    " ",
    "abc",
    "-1",
    "NaN",
    "Infinity",
    "-inf",
    "1e999",
    "9" * 40,
    "0x1F",
    "1,5",
    "2024-13-45",
    "31/12/2024",
    "99/99/9999 99:99",
    "\x00",
    "tab\there",
    "line\nbreak",
    '=HYPERLINK("http://x")',
    "é" * 300,
    "x" * 5_000,
    "\ufeffBOM-in-field",
    "\ud7ff\ue000",
]

IMPORTS = {
    "products": (
        "import_products",
        [],
        {"sku": "id", "name": "text", "category": "category", "price": "decimal",
         "image": "image"},
        {"description": "text", "cost": "decimal", "currency": "currency",
         "active": "flag"},
    ),
    "orders-generic": (
        "import_orders",
        ["--format", "generic"],
        {"order_id": "id", "customer_id": "id", "sku": "id", "quantity": "int",
         "unit_price": "decimal", "ordered_at": "timestamp"},
        {"country": "text"},
    ),
    "orders-online-retail": (
        "import_orders",
        ["--format", "online-retail"],
        {"InvoiceNo": "invoice", "StockCode": "retail_code", "Description": "text",
         "Quantity": "int", "InvoiceDate": "us_timestamp", "UnitPrice": "decimal",
         "CustomerID": "id", "Country": "text"},
        {},
    ),
    "orders-complete-journey": (
        "import_orders",
        ["--format", "complete-journey"],
        {"household_id": "id", "store_id": "id", "basket_id": "id",
         "product_id": "id", "quantity": "int", "sales_value": "decimal",
         "transaction_timestamp": "timestamp"},
        {"retail_disc": "decimal", "coupon_disc": "decimal",
         "coupon_match_disc": "decimal", "week": "int"},
    ),
    "sales": (
        "import_sales",
        [],
        {"sku": "sales_sku", "date": "week_date", "units": "int", "price": "decimal"},
        {"base_price": "decimal", "promo": "flag", "competitor_price": "decimal",
         "stockout": "flag", "cost": "decimal"},
    ),
    "sales-daily": (
        "import_sales",
        ["--frequency", "D"],
        {"sku": "id", "date": "date", "units": "int", "price": "decimal"},
        {"base_price": "decimal", "promo": "flag", "competitor_price": "decimal",
         "stockout": "flag", "cost": "decimal"},
    ),
}  # fmt: skip
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]
REJECT_ERROR = re.compile(r"^(?P<field>[^:]+): .+", re.DOTALL)
_names = itertools.count()


def table_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def rarely(draw) -> bool:
    """Draw True one time in four: most of a file stays plausible."""
    return draw(st.integers(0, 3)) == 3


@st.composite
def broken_csv(draw, required: dict, optional: dict) -> bytes:
    """Return a CSV file's bytes: a mangled header, valid and hostile values."""
    columns = dict(required)
    if optional:
        chosen = draw(st.lists(st.sampled_from(sorted(optional)), unique=True))
        columns.update({name: optional[name] for name in chosen})
    header = list(columns)
    if rarely(draw):
        header.remove(draw(st.sampled_from(header)))  # a required column missing
    if rarely(draw):
        header.append(draw(st.sampled_from(["extra", "notes", header[0]])))
    header = draw(st.permutations(header))
    if rarely(draw):
        header = [
            name.upper() if draw(st.booleans()) else f" {name} " for name in header
        ]

    # One SKU per file, new to the database, so that what a file imports shows.
    file_sku = draw(st.from_regex(r"[A-Z]{3}-[0-9]{5}", fullmatch=True))

    def value(name, index):
        kind = columns.get(name.strip(), columns.get(name.strip().lower(), "text"))
        valid = VALID.get(kind, VALID["text"])
        if kind == "sales_sku":  # a weekly history of one SKU; hostile dates and
            return file_sku  # SKUs are in "sales-daily"
        if kind == "week_date":
            return valid[index % len(valid)]
        if rarely(draw):
            return draw(st.sampled_from(HOSTILE))
        return draw(st.sampled_from(valid))

    rows = []
    for index in range(draw(st.integers(2, 6))):
        row = [value(name, index) for name in header]
        width = draw(st.sampled_from([0, 0, 0, 1, -1]))
        row = row + ["surplus"] * width if width >= 0 else row[:width]
        rows.append(row)
    if rows and draw(st.booleans()):
        rows.append(list(draw(st.sampled_from(rows))))  # a duplicated row
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if draw(st.integers(0, 9)) < 9:
        writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(ENCODINGS)) if rarely(draw) else "utf-8"
    raw = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 9:
        raw = raw[: draw(st.integers(0, len(raw)))]  # cut mid-file
    return raw


def write_file(folder, raw: bytes):
    path = folder / f"upload_{next(_names)}.csv"
    path.write_bytes(raw)
    return path


def import_file(command: str, args: list[str], path) -> str | None:
    """Run an import; return the CommandError's message, or None if it finished."""
    try:
        call_command(command, str(path), "--no-progress", *args, stdout=io.StringIO())
    except CommandError as exc:
        return str(exc)
    return None


def assert_rejects_name_line_and_column(path) -> None:
    rejects = path.with_name(path.name + ".rejects.csv")
    if not rejects.exists():
        return
    with open(rejects, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            assert int(row["line"]) >= 2, row
            match = REJECT_ERROR.match(row["error"])
            assert match, row["error"]
            assert match["field"].strip(), row["error"]


@pytest.fixture
def upload_dir(tmp_path):
    (tmp_path / "good.png").write_bytes(png_bytes())
    (tmp_path / "bad.png").write_bytes(b"<html>not a picture</html>")
    return tmp_path


def check_import(command, args, path) -> str:
    """Import `path` twice; check the properties; return what happened."""
    before = table_counts()
    error = import_file(command, args, path)
    if error is not None:
        assert error.strip() and "Traceback" not in error
        assert table_counts() == before, f"a failed import wrote rows: {error}"
        return "refused"
    assert_rejects_name_line_and_column(path)
    after_first = table_counts()
    assert import_file(command, args, path) is None
    assert table_counts() == after_first, "re-running the import changed the data"
    return "imported rows" if after_first != before else "imported nothing"


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_random_bytes_never_crash_an_import(name, upload_dir):
    command, args, _, _ = IMPORTS[name]

    @FUZZ
    @given(raw=st.binary(max_size=3_000), bom=st.booleans())
    def run(raw, bom):
        check_import(command, args, write_file(upload_dir, b"\xef\xbb\xbf" * bom + raw))

    run()


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_broken_csv_files_are_rejected_cleanly_and_reimport_is_idempotent(
    name, upload_dir
):
    command, args, required, optional = IMPORTS[name]

    outcomes = Counter()

    @FUZZ
    @given(raw=broken_csv(required, optional))
    def run(raw):
        outcomes[check_import(command, args, write_file(upload_dir, raw))] += 1

    run()
    print(name, dict(outcomes))
    # Not vacuous: files were refused, and others went in, rejects and all.
    assert outcomes["refused"], outcomes
    assert outcomes["imported rows"], outcomes


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_a_field_over_the_csv_size_limit_is_a_clear_error(name, upload_dir):
    command, args, required, _ = IMPORTS[name]
    header = list(required)
    row = ["1"] * len(header)
    row[0] = "x" * 200_000  # over csv.field_size_limit() (131,072)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, row])
    before = table_counts()

    error = import_file(
        command, args, write_file(upload_dir, buffer.getvalue().encode())
    )

    assert error is not None and "line" in error
    assert table_counts() == before


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_a_nul_character_in_any_field_never_crashes(name, upload_dir):
    # PostgreSQL refuses NUL in text with a ValueError, not a DatabaseError.
    command, args, required, optional = IMPORTS[name]
    columns = {**required, **optional}
    header = list(columns)
    good = [VALID[kind][0] for kind in columns.values()]
    rows = [
        [value + "\x00" if index == at else value for index, value in enumerate(good)]
        for at in range(len(header))
    ]
    for number, row in enumerate(rows):  # distinct keys, so no row is a duplicate
        row[0] = f"{row[0]}{number}"
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])

    check_import(command, args, write_file(upload_dir, buffer.getvalue().encode()))


@FUZZ
@given(valid_rows=st.integers(1, 9), batch_size=st.integers(1, 4))
def test_a_file_broken_midway_keeps_whole_batches_only_and_resumes(
    valid_rows, batch_size, upload_dir
):
    # Rows padded to 2 kB: the bad byte lies several 8 kB read-ahead chunks in.
    lines = ["sku,date,units,price"] + [
        f"MID-{valid_rows}-{batch_size},2024-03-{day:02d},{day}{' ' * 2000},2.50"
        for day in range(1, valid_rows + 1)
    ]
    good = "\n".join(lines).encode() + b"\n"
    path = write_file(upload_dir, good + b"MID,2024-04-01,1,\xff\xfe broken\n")
    before = SalesRecord.objects.count()
    args = ["--frequency", "D", "--batch-size", str(batch_size)]

    error = import_file("import_sales", args, path)

    assert error is not None
    assert "cannot be read after line" in error or "not a readable CSV" in error
    written = SalesRecord.objects.count() - before
    assert written % batch_size == 0 and written <= valid_rows  # whole batches only
    if valid_rows >= 6 and batch_size == 1:
        assert written, "rows in earlier read-ahead chunks are imported"
    path.write_bytes(good)  # the file fixed: the import resumes, nothing twice
    assert import_file("import_sales", args, path) is None
    assert SalesRecord.objects.count() - before == valid_rows
