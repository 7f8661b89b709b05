"""The catalogue admin: fast lists, a product page that scales, ledgers kept honest."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.categorisation import CategoryPrediction, apply_predictions_bulk
from catalog.models import PriceChange, Product, ProductImage, StockMovement
from catalog.services import product_image_add, stock_record_movement
from tests.admin_support import (
    assert_queries_do_not_grow,
    count_queries,
    form_data,
    png_bytes,
)
from tests.catalog.categorisation_support import (
    image_version,
    leaf_categories,
    suggestions,
)
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    PriceChangeFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


def add_products(n: int) -> None:
    """Add products that exercise every list column: images, stock states, category."""
    for i in range(n):
        parent = CategoryFactory()
        product = ProductFactory(
            category=CategoryFactory(parent=parent),
            stock=i % 3,
            stock_tracked=i % 5 != 0,
        )
        product_image_add(product=product, raw=png_bytes(i))


def add_images(n: int) -> None:
    for i in range(n):
        product_image_add(product=ProductFactory(), raw=png_bytes(i))


def add_price_changes(n: int) -> None:
    for _ in range(n):
        PriceChangeFactory(created_by=CustomerFactory())


def add_stock_movements(n: int) -> None:
    for _ in range(n):
        stock_record_movement(
            product=ProductFactory(),
            kind=StockMovement.Kind.RESTOCK,
            quantity=4,
            user=CustomerFactory(),
        )


ADD_ROWS = {
    "category": add_products,
    "product": add_products,
    "productimage": add_images,
    "pricechange": add_price_changes,
    "stockmovement": add_stock_movements,
}


@pytest.mark.postgres
@pytest.mark.parametrize("model_name", ADD_ROWS)
def test_changelist_queries_do_not_grow_with_rows(admin_client, model_name):
    url = reverse(f"admin:catalog_{model_name}_changelist")
    response = assert_queries_do_not_grow(admin_client, url, ADD_ROWS[model_name])
    assert len(response.context["cl"].result_list) >= 30


@pytest.mark.parametrize("model_name", ADD_ROWS)
def test_change_page_and_search_render(admin_client, model_name):
    ADD_ROWS[model_name](1)
    model = {
        "category": Product._meta.get_field("category").related_model,
        "product": Product,
        "productimage": ProductImage,
        "pricechange": PriceChange,
        "stockmovement": StockMovement,
    }[model_name]
    obj = model.objects.first()
    change = reverse(f"admin:catalog_{model_name}_change", args=[obj.pk])
    changelist = reverse(f"admin:catalog_{model_name}_changelist")
    assert admin_client.get(change).status_code == 200
    assert admin_client.get(changelist, {"q": "x"}).status_code == 200


@pytest.mark.parametrize("model_name", ["category", "product", "productimage"])
def test_add_page_renders(admin_client, model_name):
    response = admin_client.get(reverse(f"admin:catalog_{model_name}_add"))
    assert response.status_code == 200


@pytest.mark.parametrize("model_name", ["pricechange", "stockmovement"])
def test_ledger_rows_cannot_be_added_changed_or_deleted(admin_client, model_name):
    add_stock_movements(1)
    add_price_changes(1)
    row = {"pricechange": PriceChange, "stockmovement": StockMovement}[model_name]
    row = row.objects.first()
    change = reverse(f"admin:catalog_{model_name}_change", args=[row.pk])

    page = admin_client.get(change)

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert admin_client.post(change, {"note": "edited"}).status_code == 403
    delete = reverse(f"admin:catalog_{model_name}_delete", args=[row.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert (
        admin_client.get(reverse(f"admin:catalog_{model_name}_add")).status_code == 403
    )
    assert row.__class__.objects.filter(pk=row.pk, note=row.note).exists()


def test_product_list_shows_thumbnail_and_stock_states(admin_client):
    out = ProductFactory(sku="OUT-1")
    ProductFactory(sku="UNTRACKED-1", stock_tracked=False)
    ProductFactory(sku="IN-1", stock=7)
    product_image_add(product=out, raw=png_bytes())

    html = admin_client.get(
        reverse("admin:catalog_product_changelist")
    ).content.decode()

    thumb = ProductImage.objects.get(product=out).thumbnail.url
    assert f'src="{thumb}"' in html
    assert "Out of stock" in html and "Not tracked" in html and "No image" in html


@pytest.mark.parametrize(
    ("stock", "expected"),
    [("out", {"OUT-1"}), ("in", {"IN-1"}), ("untracked", {"UNTRACKED-1"})],
)
def test_product_stock_filter(admin_client, stock, expected):
    ProductFactory(sku="OUT-1")
    ProductFactory(sku="UNTRACKED-1", stock_tracked=False)
    ProductFactory(sku="IN-1", stock=7)

    url = reverse("admin:catalog_product_changelist")
    response = admin_client.get(url, {"stock": stock})

    assert {p.sku for p in response.context["cl"].result_list} == expected


def test_category_filter_includes_subcategories_and_counts_are_right(admin_client):
    kitchen = CategoryFactory(name="Kitchen")
    mugs = CategoryFactory(name="Mugs", parent=kitchen)
    ProductFactory(sku="MUG-1", category=mugs)
    ProductFactory(sku="MUG-2", category=mugs)
    ProductFactory(sku="PAN-1", category=kitchen)
    ProductFactory(sku="ELSE-1")

    products = reverse("admin:catalog_product_changelist")
    listed = admin_client.get(products, {"category": kitchen.pk}).context["cl"]
    categories = admin_client.get(reverse("admin:catalog_category_changelist"))

    assert {p.sku for p in listed.result_list} == {"MUG-1", "MUG-2", "PAN-1"}
    counts = {c.path: c.product_count for c in categories.context["cl"].result_list}
    assert counts["Kitchen"] == 1 and counts["Kitchen > Mugs"] == 2


def fill_history(product: Product, n: int, user) -> None:
    for _ in range(n):
        product_image_add(product=product, raw=png_bytes(product.images.count()))
        PriceChangeFactory(product=product, created_by=user)
        stock_record_movement(
            product=product, kind=StockMovement.Kind.RESTOCK, quantity=1, user=user
        )


@pytest.mark.postgres
def test_product_change_page_queries_do_not_grow_with_history(admin_client):
    product = ProductFactory()
    url = reverse("admin:catalog_product_change", args=[product.pk])
    fill_history(product, 2, CustomerFactory())
    admin_client.get(url)
    with_few, _ = count_queries(admin_client, url)
    fill_history(product, 13, CustomerFactory())

    with_many, response = count_queries(admin_client, url)

    assert with_many == with_few
    formsets = {
        f.formset.prefix: f.formset for f in response.context["inline_admin_formsets"]
    }
    assert len(formsets["images"].forms) == 15 + 1  # and one empty upload row


def test_long_ledgers_are_capped_with_a_link_to_the_full_list(admin_client):
    product = ProductFactory()
    for _ in range(25):
        stock_record_movement(product=product, kind="restock", quantity=1)

    url = reverse("admin:catalog_product_change", args=[product.pk])
    response = admin_client.get(url)

    ledger = next(
        f.formset
        for f in response.context["inline_admin_formsets"]
        if f.formset.model is StockMovement
    )
    assert len(ledger.forms) == 20
    assert ledger.forms[0].instance.balance_after == 25  # newest first
    html = response.content.decode()
    assert "Showing the newest 20 of 25." in html
    full_list = reverse("admin:catalog_stockmovement_changelist")
    assert f"{full_list}?product={product.pk}" in html
    listed = admin_client.get(full_list, {"product": product.pk}).context["cl"]
    assert listed.result_count == 25


def test_price_changed_in_the_admin_is_written_to_the_price_history(
    admin_client, admin_user
):
    product = ProductFactory(price=Decimal("10.00"))
    url = reverse("admin:catalog_product_change", args=[product.pk])
    data = form_data(admin_client.get(url), "product_form")
    data["price"] = "12.50"

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    product.refresh_from_db()
    assert product.price == Decimal("12.50")
    change = PriceChange.objects.get(product=product)
    assert (change.price, change.source, change.created_by) == (
        Decimal("12.50"),
        PriceChange.Source.MANUAL,
        admin_user,
    )


def test_saving_a_product_without_a_new_price_writes_no_price_change(admin_client):
    product = ProductFactory(name="Old name")
    url = reverse("admin:catalog_product_change", args=[product.pk])
    data = form_data(admin_client.get(url), "product_form")
    data["name"] = "New name"

    assert admin_client.post(url, data).status_code == 302

    product.refresh_from_db()
    assert product.name == "New name"
    assert not PriceChange.objects.filter(product=product).exists()


def test_product_added_in_the_admin_starts_its_price_history(admin_client):
    url = reverse("admin:catalog_product_add")
    data = form_data(admin_client.get(url), "product_form")
    data.update(sku="NEW-1", name="New product", price="5.00", currency="EUR")

    response = admin_client.post(url, data)

    assert response.status_code == 302
    product = Product.objects.get(sku="NEW-1")
    assert product.stock_on_hand == 0
    assert product.price_changes.get().price == Decimal("5.00")


def test_image_uploaded_in_the_inline_is_checked_and_stored(admin_client):
    product = ProductFactory()
    url = reverse("admin:catalog_product_change", args=[product.pk])
    data = form_data(admin_client.get(url), "product_form")
    data["images-0-upload"] = SimpleUploadedFile("a.png", png_bytes(), "image/png")

    response = admin_client.post(url, data)

    assert response.status_code == 302
    image = ProductImage.objects.get(product=product)
    assert (image.width, image.height, len(image.checksum)) == (40, 30, 64)
    assert image.thumbnail.name


def test_non_image_upload_is_refused_with_a_message(admin_client):
    product = ProductFactory()
    url = reverse("admin:catalog_product_change", args=[product.pk])
    data = form_data(admin_client.get(url), "product_form")
    fake = SimpleUploadedFile("evil.png", b"<?php echo 'hi'; ?>", "image/png")
    data["images-0-upload"] = fake

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "not an image Pillow can read" in response.content.decode()
    assert not ProductImage.objects.filter(product=product).exists()


def test_image_added_on_its_own_page_goes_through_the_service(admin_client):
    product = ProductFactory()
    url = reverse("admin:catalog_productimage_add")
    upload = SimpleUploadedFile("a.png", png_bytes(), "image/png")
    data = {"product": product.pk, "upload": upload, "alt_text": "", "position": 0}

    response = admin_client.post(url, data)

    assert response.status_code == 302
    image = ProductImage.objects.get(product=product)
    assert image.alt_text == product.name[:255] and image.thumbnail.name


def test_same_picture_twice_is_refused(admin_client):
    product = ProductFactory()
    product_image_add(product=product, raw=png_bytes())
    upload = SimpleUploadedFile("a.png", png_bytes(), "image/png")
    data = {"product": product.pk, "upload": upload, "alt_text": "", "position": 0}

    response = admin_client.post(reverse("admin:catalog_productimage_add"), data)

    assert "already on the product" in response.content.decode()
    assert product.images.count() == 1


def test_stock_movement_form_writes_the_ledger(admin_client, admin_user):
    product = ProductFactory()
    url = reverse("admin:catalog_product_stock_movement", args=[product.pk])
    assert admin_client.get(url).status_code == 200

    response = admin_client.post(
        url, {"kind": "restock", "quantity": "5", "reference": "PO-7", "note": ""}
    )

    assert response.status_code == 302
    product.refresh_from_db()
    movement = product.stock_movements.get()
    assert product.stock_on_hand == 5
    assert (movement.quantity, movement.reference, movement.created_by) == (
        5,
        "PO-7",
        admin_user,
    )


def test_stock_movement_form_refuses_to_go_negative(admin_client):
    product = ProductFactory(sku="LOW-1", stock=2)
    url = reverse("admin:catalog_product_stock_movement", args=[product.pk])

    response = admin_client.post(url, {"kind": "adjustment", "quantity": "-3"})

    assert response.status_code == 200
    assert "Only 2 of LOW-1 in stock; 3 requested." in response.content.decode()
    product.refresh_from_db()
    assert product.stock_on_hand == 2
    assert product.stock_movements.count() == 1


def test_stock_movement_form_refuses_a_negative_restock(admin_client):
    product = ProductFactory(stock=2)
    url = reverse("admin:catalog_product_stock_movement", args=[product.pk])

    response = admin_client.post(url, {"kind": "restock", "quantity": "-1"})

    assert "A restock adds stock" in response.content.decode()
    assert product.stock_movements.count() == 1


def test_stock_on_hand_cannot_be_edited_in_the_product_form(admin_client):
    product = ProductFactory(stock=3)
    url = reverse("admin:catalog_product_change", args=[product.pk])
    data = form_data(admin_client.get(url), "product_form")
    data["stock_on_hand"] = "999"

    assert admin_client.post(url, data).status_code == 302

    product.refresh_from_db()
    assert product.stock_on_hand == 3


def test_product_with_history_can_be_deleted_with_it(admin_client):
    product = ProductFactory(stock=3)
    PriceChangeFactory(product=product)
    url = reverse("admin:catalog_product_delete", args=[product.pk])

    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Product.objects.filter(pk=product.pk).exists()
    assert not StockMovement.objects.filter(product_id=product.pk).exists()


def test_non_staff_are_sent_to_the_login_page(client):
    client.force_login(CustomerFactory())
    url = reverse("admin:catalog_product_changelist")

    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_delete_page_queries_do_not_grow_with_the_ledger(admin_client):
    product = ProductFactory(stock=1)
    url = reverse("admin:catalog_product_delete", args=[product.pk])

    def add_movements(n: int) -> None:
        for _ in range(n):
            stock_record_movement(product=product, kind="restock", quantity=1)
            PriceChangeFactory(product=product)

    response = assert_queries_do_not_grow(admin_client, url, add_movements)

    assert response.context["perms_lacking"] == set()
    assert f"{product.sku} restock +1" in response.content.decode()


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        (0, "Agrees with the category set: Clothing &gt; Leaf 0 (88%)"),
        (1, "Suggests Clothing &gt; Leaf 1 (88%) instead of the category set, "),
    ],
)
def test_product_page_shows_the_models_view_beside_an_operators_category(
    admin_client, top, expected
):
    leaves = leaf_categories(2)
    product = ProductFactory(category=leaves[0], category_source="operator")
    ranked = [leaves[top], leaves[1 - top]]
    apply_predictions_bulk(
        [CategoryPrediction(product.pk, suggestions(ranked, [0.88, 0.12]), 0.88, 0.5)],
        version=image_version(1),
    )
    product.refresh_from_db()
    assert product.category == leaves[0]  # a person's category is kept
    page = admin_client.get(reverse("admin:catalog_product_change", args=[product.pk]))
    assert expected in page.content.decode()
