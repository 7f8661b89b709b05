"""Draw synthetic product pictures whose look depends on the category.

A category's recipe fixes a shape family (shared by the leaves of one top-level
category), a palette and a texture. Each picture adds noise on top: background,
rotation, scale, position, colour jitter, pixel noise, occasional occluders and now
and then a shape from another family, so that telling categories apart from pixels
is learnable but not trivial. Pure Pillow and NumPy; deterministic per seed.
"""

import colorsys
import functools
import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 128
SHAPES = (
    "circle",
    "square",
    "triangle",
    "bottle",
    "star",
    "ring",
    "diamond",
    "hexagon",
    "cross",
    "capsule",
)
TEXTURES = (
    "stripes",
    "dots",
    "checks",
    "waves",
    "speckle",
    "gradient",
    "rings",
    "plain",
)
_SUPERSAMPLE = 2


def category_recipes(rng: np.random.Generator, top_of_leaf: list[int]) -> list[dict]:
    """Return one JSON-ready recipe per leaf; leaves of one top share a shape."""
    n_tops = max(top_of_leaf) + 1
    shapes = [
        SHAPES[i % len(SHAPES)] for i in rng.permutation(max(n_tops, len(SHAPES)))
    ]
    n_leaves = len(top_of_leaf)
    hue_order = rng.permutation(n_leaves)
    recipes = []
    for leaf, top in enumerate(top_of_leaf):
        hue = (hue_order[leaf] / n_leaves + rng.uniform(-0.01, 0.01)) % 1.0
        saturation = float(rng.uniform(0.45, 0.9))
        value = float(rng.uniform(0.55, 0.95))
        accent_shift = float(rng.choice([0.08, 0.33, 0.5, -0.12]))
        recipes.append(
            {
                "shape": shapes[top],
                "palette": [
                    _hex(hue, saturation, value),
                    _hex(hue + accent_shift, saturation * 0.8, min(1.0, value + 0.1)),
                    _hex(hue, saturation * 0.5, value * 0.55),
                ],
                "texture": TEXTURES[int(rng.integers(len(TEXTURES)))],
                "texture_scale": int(rng.integers(5, 16)),
                "texture_angle": int(rng.integers(0, 180)),
            }
        )
    return recipes


def draw_product_image(recipe: dict, seed: int, *, quality: int = 85) -> bytes:
    """Return a ~128x128 JPEG of a product drawn from the recipe, noisy per seed."""
    rng = np.random.default_rng(seed)
    big = SIZE * _SUPERSAMPLE
    shape = recipe["shape"]
    if rng.random() < 0.15:  # some pictures look like another category's
        shape = SHAPES[int(rng.integers(len(SHAPES)))]
    if rng.random() < 0.1:
        recipe = {**recipe, "texture": TEXTURES[int(rng.integers(len(TEXTURES)))]}
    palette = [_jitter(colour, rng) for colour in recipe["palette"]]

    background = _background(rng, big)
    # Textures are smooth enough to draw at final size and scale up: 4x cheaper.
    texture = _texture(recipe, palette, rng, SIZE).resize((big, big))
    mask = Image.new("L", (big, big), 0)
    scale = rng.uniform(0.45, 0.85)
    _draw_shape(ImageDraw.Draw(mask), shape, big, scale)
    mask = mask.rotate(
        float(rng.uniform(-40, 40)),
        resample=Image.Resampling.BILINEAR,
        translate=(
            float(rng.uniform(-0.12, 0.12) * big),
            float(rng.uniform(-0.12, 0.12) * big),
        ),
    )
    picture = Image.composite(texture, background, mask)
    outline = mask.filter(ImageFilter.FIND_EDGES).point(lambda v: 255 if v > 60 else 0)
    picture.paste(palette[2], mask=outline)
    if rng.random() < 0.25:
        _occlude(ImageDraw.Draw(picture), rng, big)
    picture = picture.resize((SIZE, SIZE), Image.Resampling.BILINEAR)

    pixels = np.asarray(picture, dtype=np.int16)
    pixels = pixels + rng.normal(0, rng.uniform(2, 10), pixels.shape).astype(np.int16)
    picture = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _hex(hue: float, saturation: float, value: float) -> str:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, min(1.0, saturation), min(1.0, value))
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def _jitter(colour: str, rng: np.random.Generator) -> tuple[int, int, int]:
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    h += rng.normal(0, 0.045)
    s = float(np.clip(s * rng.uniform(0.8, 1.15), 0, 1))
    v = float(np.clip(v * rng.uniform(0.8, 1.15), 0, 1))
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def _background(rng: np.random.Generator, big: int) -> Image.Image:
    light = tuple(int(v) for v in rng.integers(170, 256, size=3))
    background = Image.new("RGB", (big, big), light)
    if rng.random() < 0.3:  # a table edge or a shadowed wall
        dark = tuple(max(0, c - int(rng.integers(20, 70))) for c in light)
        top = int(rng.uniform(0.55, 0.85) * big)
        ImageDraw.Draw(background).rectangle([0, top, big, big], fill=dark)
    return background


@functools.cache
def _grid(size: int) -> np.ndarray:
    grid = np.mgrid[0:size, 0:size].astype(np.float32)
    grid.flags.writeable = False
    return grid


def _texture(recipe, palette, rng, big: int) -> Image.Image:
    kind = recipe["texture"]
    step = max(2, int(recipe["texture_scale"] * rng.uniform(0.8, 1.25)))
    angle = math.radians(recipe["texture_angle"] + rng.normal(0, 10))
    yy, xx = _grid(big)
    u = xx * math.cos(angle) + yy * math.sin(angle)
    v = -xx * math.sin(angle) + yy * math.cos(angle)
    if kind == "stripes":
        pattern = (u // step) % 2
    elif kind == "dots":
        pattern = (((u % step) - step / 2) ** 2 + ((v % step) - step / 2) ** 2) < (
            step * 0.3
        ) ** 2
    elif kind == "checks":
        pattern = ((u // step) + (v // step)) % 2
    elif kind == "waves":
        pattern = np.sin(u / step * 2 + 2 * np.sin(v / (step * 2))) > 0
    elif kind == "speckle":
        pattern = rng.random((big, big)) < 0.25
    elif kind == "gradient":
        pattern = (u - u.min()) / max(1.0, float(u.max() - u.min()))
    elif kind == "rings":
        pattern = (np.hypot(xx - big / 2, yy - big / 2) // step) % 2
    else:
        pattern = np.zeros((big, big), dtype=np.float32)
    weight = np.asarray(pattern, dtype=np.float32)[..., None]
    base = np.asarray(palette[0], dtype=np.float32)
    accent = np.asarray(palette[1], dtype=np.float32)
    pixels = base * (1 - weight) + accent * weight
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def _polygon(cx, cy, radius, sides, start=-math.pi / 2):
    return [
        (
            cx + radius * math.cos(start + 2 * math.pi * i / sides),
            cy + radius * math.sin(start + 2 * math.pi * i / sides),
        )
        for i in range(sides)
    ]


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, big: int, scale: float) -> None:
    c = big / 2
    r = big * scale / 2
    if shape == "circle":
        draw.ellipse([c - r, c - r, c + r, c + r], fill=255)
    elif shape == "square":
        draw.rounded_rectangle([c - r, c - r, c + r, c + r], radius=r * 0.12, fill=255)
    elif shape == "triangle":
        draw.polygon(_polygon(c, c + r * 0.15, r * 1.1, 3), fill=255)
    elif shape == "bottle":
        draw.rounded_rectangle(
            [c - r * 0.5, c - r * 0.3, c + r * 0.5, c + r], radius=r * 0.2, fill=255
        )
        draw.rectangle([c - r * 0.18, c - r, c + r * 0.18, c - r * 0.2], fill=255)
    elif shape == "star":
        points = []
        for i in range(10):
            radius = r if i % 2 == 0 else r * 0.45
            a = -math.pi / 2 + math.pi * i / 5
            points.append((c + radius * math.cos(a), c + radius * math.sin(a)))
        draw.polygon(points, fill=255)
    elif shape == "ring":
        draw.ellipse([c - r, c - r, c + r, c + r], fill=255)
        draw.ellipse([c - r * 0.5, c - r * 0.5, c + r * 0.5, c + r * 0.5], fill=0)
    elif shape == "diamond":
        draw.polygon(
            [(c, c - r), (c + r * 0.65, c), (c, c + r), (c - r * 0.65, c)], fill=255
        )
    elif shape == "hexagon":
        draw.polygon(_polygon(c, c, r, 6, start=0), fill=255)
    elif shape == "cross":
        w = r * 0.35
        draw.rectangle([c - w, c - r, c + w, c + r], fill=255)
        draw.rectangle([c - r, c - w, c + r, c + w], fill=255)
    else:  # capsule
        draw.rounded_rectangle(
            [c - r, c - r * 0.45, c + r, c + r * 0.45], radius=r * 0.45, fill=255
        )


def _occlude(draw: ImageDraw.ImageDraw, rng: np.random.Generator, big: int) -> None:
    x, y = rng.uniform(0, big, size=2)
    w, h = rng.uniform(0.12, 0.35, size=2) * big
    fill = tuple(int(v) for v in rng.integers(0, 256, size=3))
    if rng.random() < 0.5:
        draw.rectangle([x, y, x + w, y + h], fill=fill)
    else:
        draw.ellipse([x, y, x + w, y + h], fill=fill)
