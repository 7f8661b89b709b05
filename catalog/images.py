"""Validate uploaded product images with Pillow and make their thumbnails.

No Django models here: bytes in, a checked and re-encoded picture out.
"""

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError


class ImageRejected(ValueError):
    """The upload is not an image the shop accepts; the message says why."""


@dataclass(frozen=True)
class CheckedImage:
    content: bytes
    format: str
    width: int
    height: int
    checksum: str
    thumbnail: bytes

    @property
    def extension(self) -> str:
        return {"JPEG": "jpg"}.get(self.format, self.format.lower())


def check_image(
    raw: bytes,
    *,
    allowed_formats: list[str],
    max_bytes: int,
    max_pixels: int,
    thumbnail_size: tuple[int, int],
) -> CheckedImage:
    """Return the image checked, oriented, stripped of metadata and re-encoded.

    Raise ImageRejected for anything else: unknown or disallowed formats, truncated
    files, files or pictures that are too large, decompression bombs.
    """
    if not raw:
        raise ImageRejected("The file is empty.")
    if len(raw) > max_bytes:
        raise ImageRejected(
            f"The file is {len(raw):,} bytes; the limit is {max_bytes:,} bytes."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as probe:
                image_format = probe.format or ""
                width, height = probe.size
                if image_format not in allowed_formats:
                    allowed = ", ".join(allowed_formats)
                    raise ImageRejected(
                        f"{image_format or 'This'} format is not accepted; use {allowed}."
                    )
                if width * height > max_pixels:
                    raise ImageRejected(
                        f"The image is {width}×{height} pixels; the limit is "
                        f"{max_pixels:,} pixels."
                    )
                probe.verify()
            with Image.open(io.BytesIO(raw)) as image:
                image.load()
                image = ImageOps.exif_transpose(image)
                picture = _to_rgb(image)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(
            f"The image is too large to decode safely ({exc})."
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected("The file is not an image Pillow can read.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"The image is damaged or truncated ({exc}).") from exc

    out_format = "PNG" if image_format == "PNG" and picture.mode == "RGBA" else "JPEG"
    content = _encode(picture, out_format)
    thumb = picture.convert("RGB")
    thumb.thumbnail(thumbnail_size)
    return CheckedImage(
        content=content,
        format=out_format,
        width=picture.width,
        height=picture.height,
        checksum=hashlib.sha256(content).hexdigest(),
        thumbnail=_encode(thumb, "JPEG"),
    )


def _to_rgb(image: Image.Image) -> Image.Image:
    if getattr(image, "is_animated", False):
        image.seek(0)
    if image.mode in ("I", "I;16", "I;16B", "I;16L"):
        # 16-bit greys (PNG): scale to 8 bits; converting directly clips them white.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode in ("RGBA", "LA") or (
        image.mode == "P" and "transparency" in image.info
    ):
        return image.convert("RGBA")
    return image.convert("RGB")


def _encode(picture: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    if image_format == "JPEG":
        picture.convert("RGB").save(buffer, "JPEG", quality=88, optimize=True)
    else:
        picture.save(buffer, image_format, optimize=True)
    return buffer.getvalue()
