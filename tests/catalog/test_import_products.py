"""import_products: create and update products, categories, prices and images."""

import io
from decimal import Decimal
from functools import partial

import pytest
from django.core.management.base import CommandError
from PIL import Image

from catalog.models import Category, PriceChange, Product, ProductImage
from tests.factories import ProductFactory
from tests.import_support import rejects_of, run_import, write_rows

run = partial(run_import, "import_products")
pytestmark = pytest.mark.django_db

HEADER = ["sku", "name", "category", "price", "image"]


def write_csv(path, rows, header=HEADER):
    return write_rows(path, header, rows)


def write_png(path, colour=(200, 30, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())


def test_products_are_created_with_category_path_price_and_image(tmp_path):
    images = tmp_path / "pics"
    images.mkdir()
    write_png(images / "mug.png")
    path = write_csv(
        tmp_path / "p.csv",
        [
            ["MUG-1", "Red mug", "Home > Kitchen > Mugs", "9.50", "mug.png"],
            ["MUG-2", "Blue mug", "Home > Kitchen > Mugs", "9.75", ""],
            ["TEA-1", "Green tea", "", "4", ""],
        ],
    )

    output = run(path, "--images-dir", str(images))

    mug = Product.objects.get(sku="MUG-1")
    assert (mug.name, mug.price, mug.category.path) == (
        "Red mug", Decimal("9.50"), "Home > Kitchen > Mugs",
    )  # fmt: skip
    assert mug.images.get().thumbnail
    assert Product.objects.get(sku="TEA-1").category is None
    assert Category.objects.count() == 3
    assert PriceChange.objects.filter(source="import").count() == 3
    assert "imported (new products): 3" in output
    assert "categories created: 3" in output
    assert "images created: 1" in output


def test_existing_skus_are_updated_and_price_changes_recorded(tmp_path):
    mug = ProductFactory(sku="MUG-1", price=Decimal("9.50"), name="Old")
    keep = ProductFactory(sku="KEEP", price=Decimal("2.00"), name="Same")
    path = write_csv(
        tmp_path / "p.csv",
        [["MUG-1", "New name", "", "11.00", ""], ["KEEP", "Same", "", "2.00", ""]],
    )

    output = run(path)

    mug.refresh_from_db()
    assert (mug.name, mug.price) == ("New name", Decimal("11.00"))
    assert mug.category is not None  # an empty category keeps the current one
    change = PriceChange.objects.get(product=mug)
    assert (change.price, change.source) == (Decimal("11.00"), "import")
    assert not PriceChange.objects.filter(product=keep).exists()
    assert Product.objects.count() == 2
    assert "updated: 1" in output
    assert "skipped as already present: 1" in output


def test_running_the_same_file_twice_adds_nothing(tmp_path):
    write_png(tmp_path / "mug.png")
    path = write_csv(
        tmp_path / "p.csv", [["MUG-1", "Mug", "Home > Mugs", "9", "mug.png"]]
    )
    run(path)

    output = run(path)

    assert Product.objects.count() == 1
    assert ProductImage.objects.count() == 1
    assert PriceChange.objects.count() == 1
    assert Category.objects.count() == 2
    assert "imported (new products): 0" in output
    assert "skipped as already present: 1" in output


@pytest.mark.parametrize(
    ("row", "error"),
    [
        (["", "Mug", "", "9", ""], "sku: is empty"),
        (["M", "", "", "9", ""], "name: is empty"),
        (["M", "Mug", "", "", ""], "price: is empty"),
        (["M", "Mug", "", "nine", ""], "price: 'nine' is not a number"),
        (["M", "Mug", "", "-1", ""], "price: -1 is below 0"),
        (["M", "Mug", "Home >  > Mugs", "9", ""], "category: 'Home >  > Mugs' has an"),
        (["M", "Mug", "", "9", "missing.png"], "image: 'missing.png' was not found"),
        (["M", "Mug", "", "9", "fake.png"], "image: 'fake.png': The file is not an"),
        (["M", "Mug", "", "9", "../p.csv"], "image: '../p.csv' points outside"),
    ],
)
def test_bad_rows_are_rejected_with_line_and_field(tmp_path, row, error):
    images = tmp_path / "pics"
    images.mkdir()
    (images / "fake.png").write_bytes(b"not a picture")
    path = write_csv(tmp_path / "p.csv", [["OK", "Fine", "", "1", ""], row])

    output = run(path, "--images-dir", str(images))

    [(line, message)] = rejects_of(path)
    assert line == "3" and message.startswith(error)
    assert list(Product.objects.values_list("sku", flat=True)) == ["OK"]
    assert "rejected: 1" in output


def test_a_sku_twice_in_a_file_is_rejected_the_second_time(tmp_path):
    path = write_csv(
        tmp_path / "p.csv",
        [
            ["M", "Mug", "", "9", ""],
            ["T", "Tea", "", "2", ""],
            ["M", "Mug 2", "", "8", ""],
        ],
    )

    run(path, "--batch-size", "2")

    assert Product.objects.get(sku="M").name == "Mug"
    assert rejects_of(path) == [
        ("4", "sku: M already appears on line 2; expected each SKU once per file")
    ]


def test_optional_columns_are_read(tmp_path):
    path = write_csv(
        tmp_path / "p.csv",
        [["M", "Mug", "", "9", "", "A mug.", "3.10", "gbp", "0"]],
        header=[*HEADER, "description", "cost", "currency", "active"],
    )

    run(path)

    mug = Product.objects.get()
    assert (mug.description, mug.cost, mug.currency, mug.is_active) == (
        "A mug.", Decimal("3.10"), "GBP", False,
    )  # fmt: skip


def test_missing_columns_and_missing_images_dir_fail(tmp_path):
    path = write_csv(tmp_path / "p.csv", [], header=["sku", "title", "categroy"])
    with pytest.raises(
        CommandError, match="lacks the required column.*name, category, price, image"
    ):
        run(path)

    path = write_csv(tmp_path / "q.csv", [["M", "Mug", "", "9", ""]])
    with pytest.raises(CommandError, match="images folder .* does not exist"):
        run(path, "--images-dir", str(tmp_path / "nowhere"))


def test_imported_categories_are_marked_as_imported(tmp_path):
    from catalog.services import category_get_or_create_by_path

    mugs = category_get_or_create_by_path("Home > Mugs")
    confirmed = ProductFactory(sku="OP-1", category=mugs)  # an operator's
    automatic = ProductFactory(sku="AUTO-1", category=None)
    Product.objects.filter(pk=automatic.pk).update(
        category=mugs, category_source="automatic"
    )
    path = write_csv(
        tmp_path / "p.csv",
        [
            ["NEW-1", "Mug", "Home > Mugs", "9", ""],
            ["NEW-2", "Unfiled", "", "9", ""],
            ["OP-1", confirmed.name, "Home > Mugs", "19.99", ""],
            ["AUTO-1", automatic.name, "Home > Mugs", "19.99", ""],
        ],
    )

    run(path)

    sources = dict(Product.objects.values_list("sku", "category_source"))
    assert sources == {
        "NEW-1": "imported",
        "NEW-2": "none",
        "OP-1": "operator",  # the same category, confirmed by a person: kept
        "AUTO-1": "imported",  # the file confirms the model's guess
    }


def test_products_without_stock_figures_are_untracked_never_out_of_stock(tmp_path):
    path = write_csv(tmp_path / "p.csv", [["TEA-1", "Green tea", "", "4", ""]])

    run(path)

    tea = Product.objects.get()
    assert not tea.stock_tracked and not tea.is_out_of_stock


def test_shop_default_can_track_new_products_without_figures(tmp_path, settings):
    settings.SHOP_NEW_PRODUCTS_STOCK_TRACKED = True
    path = write_csv(tmp_path / "p.csv", [["TEA-1", "Green tea", "", "4", ""]])

    run(path)

    assert Product.objects.get().is_out_of_stock


def test_stock_columns_set_on_hand_through_the_ledger(tmp_path):
    old = ProductFactory(sku="MUG-1", stock_tracked=False)
    path = write_csv(
        tmp_path / "p.csv",
        [
            ["MUG-1", "Mug", "", "9", "", "12", ""],
            ["TEA-1", "Tea", "", "4", "", "0", ""],
            ["CUP-1", "Cup", "", "3", "", "", "yes"],
        ],
        header=[*HEADER, "stock", "stock_tracked"],
    )

    output = run(path)

    old.refresh_from_db()
    assert (old.stock_tracked, old.stock_on_hand) == (True, 12)
    assert old.stock_movements.get().quantity == 12
    tea, cup = Product.objects.get(sku="TEA-1"), Product.objects.get(sku="CUP-1")
    assert tea.stock_tracked and tea.is_out_of_stock  # a figure of 0 is a fact
    assert cup.stock_tracked and cup.stock_on_hand == 0
    assert "stock figures created: 2" in output
    again = write_csv(
        tmp_path / "q.csv", [["MUG-1", "Mug", "", "9", "", "5"]], [*HEADER, "stock"]
    )
    run(again)
    old.refresh_from_db()
    assert old.stock_on_hand == 5


def test_a_bad_stock_figure_is_rejected_with_its_column(tmp_path):
    path = write_csv(
        tmp_path / "p.csv", [["M", "Mug", "", "9", "", "-3"]], [*HEADER, "stock"]
    )
    run(path)
    assert rejects_of(path)[0][1].startswith("stock")
    assert not Product.objects.exists()
