"""Decode product photos into fixed-size RGB arrays for the classifier."""

import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

BACKGROUND = (255, 255, 255)  # product photos are shot on white: pad with white


def decode(data: bytes, size: int) -> np.ndarray:
    """Return the picture as uint8 [size, size, 3] RGB, EXIF-oriented, padded square.

    The aspect ratio is kept: the longer side is scaled to `size` and the other is
    padded with white, centred.
    """
    with Image.open(io.BytesIO(data)) as image:
        # JPEG decodes at 1/2, 1/4 or 1/8 scale for a fraction of the cost.
        image.draft("RGB", (size, size))
        image = ImageOps.exif_transpose(image)
        image = _to_rgb(image)
        image.thumbnail((size, size), Image.Resampling.BILINEAR)
        if image.size == (size, size):
            return np.asarray(image, dtype=np.uint8)
        canvas = Image.new("RGB", (size, size), BACKGROUND)
        left, top = (size - image.width) // 2, (size - image.height) // 2
        canvas.paste(image, (left, top))
        return np.asarray(canvas, dtype=np.uint8)


def decode_many(items: Iterable[bytes | str | Path], size: int) -> np.ndarray:
    """Decode raw bytes or image file paths into one uint8 [n, size, size, 3] array."""
    pictures = [
        decode(item if isinstance(item, bytes) else Path(item).read_bytes(), size)
        for item in items
    ]
    if not pictures:
        return np.zeros((0, size, size, 3), dtype=np.uint8)
    return np.stack(pictures)


def _to_rgb(image: Image.Image) -> Image.Image:
    """Flatten transparency onto white; convert greyscale, palette and CMYK to RGB."""
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, BACKGROUND)
        flat.paste(image, mask=image.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")
