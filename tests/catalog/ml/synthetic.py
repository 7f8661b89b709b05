"""Tiny products: a coloured shape on white per class, with a title naming it."""

import numpy as np

SIZE = 16
COLOURS = np.array([[220, 30, 30], [30, 160, 30], [30, 30, 220]], dtype=np.uint8)
NAMES = ["red cotton shirt", "green leather shoe", "blue canvas bag"]


def products(n: int, seed: int = 0):
    """Return (images uint8 [n, 16, 16, 3], titles, labels) for 3 classes."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = np.full((n, SIZE, SIZE, 3), 255, dtype=np.uint8)
    for row, label in enumerate(labels):
        top, left = rng.integers(0, 6, 2)
        side = rng.integers(7, 10)
        images[row, top : top + side, left : left + side] = COLOURS[label]
    titles = [f"{NAMES[label]} size {rng.integers(1, 50)}" for label in labels]
    return images, titles, labels
