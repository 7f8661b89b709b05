import io

import numpy as np
from PIL import Image

from catalog.ml.images import decode, decode_many

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def red_left_blue_right(width: int = 40, height: int = 20) -> Image.Image:
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    return image


def close(pixel, colour, tolerance=40):
    return np.all(np.abs(np.asarray(pixel, dtype=int) - colour) <= tolerance)


def test_wide_picture_is_scaled_and_padded_white_above_and_below():
    picture = decode(encode(red_left_blue_right()), 16)
    assert picture.shape == (16, 16, 3) and picture.dtype == np.uint8
    assert close(picture[0, 8], WHITE) and close(picture[15, 8], WHITE)
    assert close(picture[8, 2], RED) and close(picture[8, 13], BLUE)


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90° clockwise to display
    data = encode(red_left_blue_right(), "JPEG", exif=exif, quality=95)
    picture = decode(data, 16)
    # Displayed upright the picture is tall: red on top, blue below, white sides.
    assert close(picture[8, 0], WHITE) and close(picture[8, 15], WHITE)
    assert close(picture[2, 8], RED) and close(picture[13, 8], BLUE)


def test_greyscale_becomes_rgb():
    picture = decode(encode(Image.new("L", (8, 8), 100)), 8)
    assert picture.shape == (8, 8, 3)
    assert np.all(picture == 100)


def test_transparency_is_flattened_onto_white():
    image = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 4, 8))
    picture = decode(encode(image), 8)
    assert close(picture[4, 1], RED) and close(picture[4, 6], WHITE)


def test_palette_picture_with_transparent_colour():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (4, 0, 8, 8))
    data = encode(image, transparency=0)
    picture = decode(data, 8)
    assert close(picture[4, 1], WHITE) and close(picture[4, 6], BLUE)


def test_decode_many_reads_bytes_and_paths(tmp_path):
    path = tmp_path / "shirt.png"
    path.write_bytes(encode(Image.new("RGB", (10, 10), RED)))
    pictures = decode_many([encode(Image.new("RGB", (5, 5), BLUE)), path, str(path)], 4)
    assert pictures.shape == (3, 4, 4, 3)
    assert close(pictures[0, 2, 2], BLUE) and close(pictures[2, 2, 2], RED)
    assert decode_many([], 4).shape == (0, 4, 4, 3)
