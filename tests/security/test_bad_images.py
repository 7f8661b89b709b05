"""A corpus of hostile and awkward images, uploaded the ways pictures get in.

There is no image upload in the API: pictures arrive through the admin (the product
image page and the product page's inline, both `ProductImageForm`) and through
`import_products`' image column; all go through `catalog.images.check_image`.
tests/catalog/test_images.py covers the basic rejections (empty, text, truncated
PNG, GIF refused by a narrower list, pixel and byte limits, a 1-bit bomb); this
corpus adds what an attacker or an odd camera sends, with the shop's real settings.

Refused: decompression bombs, truncated JPEG, huge dimensions, text or HTML named
.png, disallowed formats (BMP, TIFF), PNG text-chunk bombs. Accepted and normalised
(the intended behaviour): polyglots are re-encoded so the payload is gone; the
extension is ignored, the format is read from the bytes; CMYK becomes RGB; 16-bit
greys are scaled to 8 bits; animations keep their first frame.
"""

import io
import json
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from catalog.models import ProductImage
from tests.factories import ProductFactory
from tests.import_support import rejects_of, run_import, write_rows

REPO = Path(__file__).resolve().parents[2]


def encode(image: Image.Image, image_format: str, **save_args) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **save_args)
    return buffer.getvalue()


def picture(size=(64, 48), mode="RGB") -> Image.Image:
    """A picture with some detail, so that re-encoding changes its bytes."""
    array = np.random.default_rng(7).integers(0, 255, (size[1], size[0], 3), "uint8")
    return Image.fromarray(array).convert(mode)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def blank_png(width: int, height: int, *, bit_depth=1, extra_chunks=b"") -> bytes:
    """Return a valid greyscale PNG of any size, all black, built without a canvas."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width * bit_depth + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height))
    data += compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + extra_chunks
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )


def text_bomb_png() -> bytes:
    """A tiny PNG whose zTXt chunk inflates to 64 MB."""
    inflated = zlib.compress(b"\x00" * (64 << 20), 9)
    return blank_png(
        8, 8, extra_chunks=png_chunk(b"zTXt", b"Comment\x00\x00" + inflated)
    )


def animated(image_format: str) -> bytes:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "blue", "lime")]
    return encode(frames[0], image_format, save_all=True, append_images=frames[1:])


def sixteen_bit_grey() -> bytes:
    half = np.full((30, 40), 30_000, dtype=np.uint16)
    half[:, 20:] = 60_000
    return encode(Image.fromarray(half), "PNG")


REFUSED = {
    "bomb-1bit-20000x20000": (
        lambda: blank_png(20_000, 20_000),
        "pixels|too large",
    ),
    "bomb-8bit-12000x12000": (
        lambda: blank_png(12_000, 12_000, bit_depth=8),
        "pixels|too large",
    ),
    "huge-dimensions-1x50000000": (lambda: blank_png(50_000_000, 1), "pixels"),
    "huge-dimensions-9000x5000": (lambda: blank_png(9_000, 5_000), "limit is"),
    "truncated-jpeg": (
        lambda: encode(picture((400, 300)), "JPEG")[:3_000],
        "damaged or truncated",
    ),
    "truncated-png-idat": (
        lambda: encode(picture((200, 150)), "PNG")[:-2_000],
        "damaged or truncated",
    ),
    "text-named-png": (lambda: b"just some words, not a picture\n", "not an image"),
    "html-named-png": (
        lambda: b"<html><script>alert(1)</script></html>",
        "not an image",
    ),
    "svg-named-png": (
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>',
        "not an image",
    ),
    "bmp": (lambda: encode(picture(), "BMP"), "BMP format is not accepted"),
    "tiff": (lambda: encode(picture(), "TIFF"), "TIFF format is not accepted"),
    "png-text-chunk-bomb": (text_bomb_png, "damaged|too large"),
}

ACCEPTED = {
    # name: (bytes, upload file name, stored format, stored size, check of the pixels)
    "polyglot-gif-html": (
        lambda: encode(picture(mode="P"), "GIF") + b"<script>alert(1)</script>",
        "a.gif",
        "JPEG",
        (64, 48),
    ),
    "polyglot-jpeg-zip": (
        lambda: encode(picture(), "JPEG") + zip_archive(),
        "a.jpg",
        "JPEG",
        (64, 48),
    ),
    "png-named-jpg": (lambda: encode(picture(), "PNG"), "a.jpg", "JPEG", (64, 48)),
    "jpeg-named-png": (lambda: encode(picture(), "JPEG"), "a.png", "JPEG", (64, 48)),
    "cmyk-jpeg": (
        lambda: encode(Image.new("CMYK", (50, 40), (0, 255, 255, 0)), "JPEG"),
        "a.jpg",
        "JPEG",
        (50, 40),
    ),
    "16-bit-grey-png": (sixteen_bit_grey, "a.png", "JPEG", (40, 30)),
    "animated-gif": (lambda: animated("GIF"), "a.gif", "JPEG", (40, 30)),
    "animated-webp": (lambda: animated("WEBP"), "a.webp", "JPEG", (40, 30)),
    "rgba-png": (
        lambda: encode(Image.new("RGBA", (20, 10), (0, 0, 255, 128)), "PNG"),
        "a.png",
        "PNG",
        (20, 10),
    ),
}


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.sh", "rm -rf /\n")
    return buffer.getvalue()


def upload(admin_client, product, raw: bytes, name: str):
    data = {
        "product": product.pk,
        "upload": SimpleUploadedFile(name, raw, "image/png"),
        "alt_text": "",
        "position": 0,
    }
    return admin_client.post(reverse("admin:catalog_productimage_add"), data)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_hostile_upload_is_refused_with_a_reason(name, admin_client):
    make, reason = REFUSED[name]
    product = ProductFactory()

    response = upload(admin_client, product, make(), f"{name}.png")

    # The admin answers a refused form with the form again (200) and its error.
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["upload"]
    assert any(re.search(reason, error) for error in errors), errors
    assert not ProductImage.objects.filter(product=product).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_hostile_api_upload_is_a_400_naming_the_reason(name, staff_client):
    make, reason = REFUSED[name]
    product = ProductFactory()
    url = reverse("api-product-image-upload", kwargs={"sku": product.sku})

    response = staff_client.post(
        url,
        {"image": SimpleUploadedFile(f"{name}.png", make(), "image/png")},
        format="multipart",
    )

    assert response.status_code == 400
    assert any(re.search(reason, error) for error in response.json()["image"])
    assert not ProductImage.objects.filter(product=product).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_awkward_upload_is_accepted_and_normalised(name, admin_client):
    make, filename, stored_format, size = ACCEPTED[name]
    product = ProductFactory()

    response = upload(admin_client, product, make(), filename)

    assert response.status_code == 302, response.context["adminform"].form.errors
    image = ProductImage.objects.get(product=product)
    assert (image.format, (image.width, image.height)) == (stored_format, size)
    stored = image.image.read()
    assert b"<script" not in stored and b"PK\x03\x04" not in stored
    with Image.open(io.BytesIO(stored)) as saved:
        assert saved.format == stored_format
        assert saved.mode == ("RGBA" if stored_format == "PNG" else "RGB")
        assert not getattr(saved, "is_animated", False)
        assert image.image.name.endswith(".jpg" if stored_format == "JPEG" else ".png")


@pytest.mark.django_db
def test_cmyk_and_sixteen_bit_keep_their_colours(admin_client):
    product = ProductFactory()
    red = encode(Image.new("CMYK", (50, 40), (0, 255, 255, 0)), "JPEG")
    assert upload(admin_client, product, red, "red.jpg").status_code == 302
    assert upload(admin_client, product, sixteen_bit_grey(), "g.png").status_code == 302

    cmyk, grey = product.images.order_by("position", "id")
    with Image.open(cmyk.image) as saved:
        r, g, b = saved.getpixel((25, 20))
    assert r > 200 and g < 60 and b < 60  # still red, not inverted
    with Image.open(grey.image) as saved:
        left, right = saved.getpixel((5, 15)), saved.getpixel((35, 15))
    # 30,000 and 60,000 of 65,535: mid grey and near white, not both clipped white.
    assert 100 < left[0] < 135 and right[0] > 220


@pytest.mark.django_db
def test_import_products_rejects_bad_images_by_line(tmp_path):
    for name, (make, _) in REFUSED.items():
        if "bomb-1bit" in name or "1x50000000" in name:
            continue  # same checks as the 8-bit bomb; keep the test fast
        (tmp_path / f"{name}.png").write_bytes(make())
    names = sorted(path.name for path in tmp_path.glob("*.png"))
    rows = [[f"BAD-{i}", "Mug", "", "3.50", name] for i, name in enumerate(names)]
    path = write_rows(
        tmp_path / "products.csv", ["sku", "name", "category", "price", "image"], rows
    )

    run_import("import_products", path)

    rejects = rejects_of(path)
    assert [int(line) for line, _ in rejects] == list(range(2, len(names) + 2))
    assert all(error.startswith("image: ") for _, error in rejects)
    assert not ProductImage.objects.exists()


# Peak RSS from VmHWM: this process's own high-water mark. (getrusage's ru_maxrss
# carries over the parent's peak across fork and exec, so under a big pytest process
# it would hide the growth.)
MEASURE = """
import json, sys
from catalog.images import ImageRejected, check_image
def peak_kib():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1])
raw = open(sys.argv[1], "rb").read()
limits = json.loads(sys.argv[2])
before = peak_kib()
try:
    check_image(raw, **limits)
    outcome = "accepted"
except ImageRejected as exc:
    outcome = str(exc)
print(json.dumps({"outcome": outcome, "growth_kib": peak_kib() - before}))
"""


def peak_memory_growth(raw: bytes, tmp_path, settings) -> dict:
    """Check an image in a fresh process; return the outcome and its peak RSS growth."""
    path = tmp_path / "upload.bin"
    path.write_bytes(raw)
    limits = {
        "allowed_formats": settings.IMAGE_ALLOWED_FORMATS,
        "max_bytes": settings.IMAGE_MAX_BYTES,
        "max_pixels": settings.IMAGE_MAX_PIXELS,
        "thumbnail_size": list(settings.IMAGE_THUMBNAIL_SIZE),
    }
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), json.dumps(limits)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    "name",
    [
        "bomb-1bit-20000x20000",
        "bomb-8bit-12000x12000",
        "huge-dimensions-9000x5000",
        "png-text-chunk-bomb",
    ],
)
def test_bombs_are_refused_without_decoding(name, tmp_path, settings):
    make, _ = REFUSED[name]

    measured = peak_memory_growth(make(), tmp_path, settings)

    print(name, measured)
    assert measured["outcome"] != "accepted"
    # Decoded, the 20000×20000 bomb alone would take 400 MB (as 8-bit pixels).
    assert measured["growth_kib"] < 32 * 1024, measured


def test_the_largest_accepted_picture_has_bounded_memory(tmp_path, settings):
    # The control for the test above: a picture just under the pixel limit is
    # decoded, so the measurement does see it; its peak is the worst case a worker
    # (or web process) pays per upload.
    side = int(settings.IMAGE_MAX_PIXELS**0.5) - 1
    measured = peak_memory_growth(
        blank_png(side, side, bit_depth=8), tmp_path, settings
    )

    print("largest accepted", side, measured)
    assert measured["outcome"] == "accepted"
    assert 32 * 1024 < measured["growth_kib"] < 1024 * 1024, measured
