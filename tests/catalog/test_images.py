"""Product images are checked with Pillow on the way in."""

import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from catalog.images import ImageRejected, check_image
from catalog.services import product_image_add
from tests.factories import ProductFactory

LIMITS = dict(
    allowed_formats=["JPEG", "PNG"],
    max_bytes=200_000,
    max_pixels=1_000_000,
    thumbnail_size=(64, 64),
)


def encode(size=(120, 80), image_format="PNG", mode="RGB", **save_args) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "tomato").save(buffer, image_format, **save_args)
    return buffer.getvalue()


def test_check_image_reports_dimensions_checksum_and_thumbnail():
    checked = check_image(encode(), **LIMITS)

    assert (checked.width, checked.height, checked.format) == (120, 80, "JPEG")
    assert len(checked.checksum) == 64
    with Image.open(io.BytesIO(checked.thumbnail)) as thumb:
        assert thumb.size == (64, 43)


def test_check_image_applies_exif_orientation_and_strips_metadata():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90° clockwise
    exif[0x010F] = "Camera maker that should not leak"
    raw = encode(size=(120, 80), image_format="JPEG", exif=exif.tobytes())

    checked = check_image(raw, **LIMITS)

    assert (checked.width, checked.height) == (80, 120)
    with Image.open(io.BytesIO(checked.content)) as stored:
        assert not stored.getexif()


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"", "empty"),
        (b"not an image at all", "not an image"),
        (encode()[:60], "damaged or truncated"),
        (encode(image_format="GIF"), "GIF format is not accepted"),
        (encode(size=(1200, 1000)), "limit is 1,000,000 pixels"),
        (b"\x89PNG" + b"0" * 300_000, "limit is 200,000 bytes"),
    ],
    ids=["empty", "text", "truncated", "format", "pixels", "bytes"],
)
def test_check_image_rejects_bad_uploads_with_a_reason(raw, reason):
    with pytest.raises(ImageRejected, match=reason):
        check_image(raw, **LIMITS)


def test_check_image_refuses_decompression_bombs():
    # A tiny PNG that claims a huge canvas: Pillow's bomb guard must stop it.
    raw = encode(size=(12_000, 12_000), image_format="PNG", mode="1")
    with pytest.raises(ImageRejected, match="pixels|too large"):
        check_image(raw, **{**LIMITS, "max_bytes": 10_000_000, "max_pixels": 10**9})


@pytest.mark.django_db
def test_product_image_add_stores_file_thumbnail_and_keeps_duplicates_once():
    product = ProductFactory()
    raw = encode()

    first = product_image_add(product=product, raw=raw)
    again = product_image_add(product=product, raw=raw)

    assert first.created and not again.created
    assert again.image.pk == first.image.pk
    image = first.image
    assert (image.width, image.height) == (120, 80)
    assert image.image.storage.exists(image.image.name)
    assert image.thumbnail.storage.exists(image.thumbnail.name)
    assert product.images.count() == 1


@pytest.mark.django_db
def test_product_image_add_rejects_non_images_with_a_validation_error():
    product = ProductFactory()
    with pytest.raises(ValidationError, match="not an image"):
        product_image_add(product=product, raw=b"%PDF-1.4 fake")
    assert not product.images.exists()
