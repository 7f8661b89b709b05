"""A small image classifier for small catalogues: hand-made features, then LDA.

A convolutional network needs many pictures per category; a shop that starts with a
few hundred products has about ten. This model describes each picture by what tells
products apart at a glance, measured on its foreground (the pixels unlike the
picture's border, which is the background):

- colour: a joint RGB histogram and a hue histogram per saturation band;
- texture: the power spectrum of the foreground's brightness in bins of frequency
  (scale) and direction (angle);
- outline: the rotation-invariant harmonics of the radius from the centroid as a
  function of the angle (how many corners), fill, elongation and holes;
- shape: histograms of oriented gradients (HOG) of the brightness in a grid of
  cells (where the edges are and which way they run: a collar, a sole, a strap).

Every feature is computed with NumPy on a whole batch at once. A linear discriminant
analysis with a shrunk covariance (Ledoit-Wolf) classifies the standardised
features: it needs no tuning and copes with fewer examples per category than
features. Its confidences are temperature-scaled on validation data. The model
reads the image only; `ml.fusion` weighs it against the network and the title model
on validation data, so where the network reads pictures better (thousands of real
photos) it simply gets little weight.
"""

import hashlib
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .baselines import Pickled
from .calibration import apply_temperature, fit_temperature

BATCH = 256
BORDER = 3  # rows at the top and bottom whose colours are the background
FOREGROUND_DISTANCE = 40.0  # summed RGB distance from both background colours
RGB_BINS = 4
HUE_BINS = 24
SATURATION_BANDS = 3
RADIAL_BINS = 8
ANGLE_BINS = 12
OUTLINE_ANGLES = 64
OUTLINE_HARMONICS = 8
UNSEEN_LOGIT = -1000.0  # a category without pictures: never, whatever the temperature
HOG_CELLS = 8  # per side
HOG_ORIENTATIONS = 9  # unsigned, over 180 degrees


def image_features(images: np.ndarray) -> np.ndarray:
    """Return [n, n_features] float32 features of uint8 [n, size, size, 3] pictures.

    The last few results are kept by the pictures' digest: training and measuring
    ask for the same pictures' features several times.
    """
    images = np.ascontiguousarray(images, dtype=np.uint8)
    if len(images) == 0:
        return np.zeros((0, n_features()), dtype=np.float32)
    key = (images.shape, hashlib.blake2b(images.data, digest_size=16).hexdigest())
    if key not in _recent:
        _recent[key] = np.vstack(
            [
                _batch_features(images[i : i + BATCH])
                for i in range(0, len(images), BATCH)
            ]
        )
        while len(_recent) > RECENT:
            _recent.pop(next(iter(_recent)))
    return _recent[key].copy()


RECENT = 6
_recent: dict[tuple, np.ndarray] = {}


def n_features() -> int:
    return (
        RGB_BINS**3
        + HUE_BINS * SATURATION_BANDS
        + RADIAL_BINS * ANGLE_BINS
        + OUTLINE_HARMONICS
        + 5
        + HOG_CELLS**2 * HOG_ORIENTATIONS
    )


def _batch_features(images: np.ndarray) -> np.ndarray:
    pixels = images.astype(np.float32)
    mask = foreground(pixels)
    return np.hstack(
        [
            _rgb_histogram(images, mask),
            _hue_histogram(pixels, mask),
            _texture(pixels, mask),
            _outline(mask),
            _gradients(pixels),
        ]
    ).astype(np.float32)


def foreground(pixels: np.ndarray) -> np.ndarray:
    """Return [n, h, w] bool: pixels unlike both the top and the bottom border."""
    n = len(pixels)
    top = np.median(pixels[:, :BORDER].reshape(n, -1, 3), axis=1)
    bottom = np.median(pixels[:, -BORDER:].reshape(n, -1, 3), axis=1)
    far_top = np.abs(pixels - top[:, None, None]).sum(-1)
    far_bottom = np.abs(pixels - bottom[:, None, None]).sum(-1)
    return np.minimum(far_top, far_bottom) > FOREGROUND_DISTANCE


def _histograms(index: np.ndarray, mask: np.ndarray, bins: int) -> np.ndarray:
    """Per-image counts of `index` (in [0, bins)) over masked pixels, as sqrt shares."""
    n = len(index)
    offset = np.arange(n)[:, None, None] * bins
    counts = np.bincount((index + offset)[mask], minlength=n * bins).reshape(n, bins)
    shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    return np.sqrt(shares)


def _rgb_histogram(images: np.ndarray, mask: np.ndarray) -> np.ndarray:
    q = images.astype(np.int64) * RGB_BINS // 256
    index = (q[..., 0] * RGB_BINS + q[..., 1]) * RGB_BINS + q[..., 2]
    return _histograms(index, mask, RGB_BINS**3)


def _hue_histogram(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Hue by saturation band of the foreground's pixels (only those computed)."""
    x = pixels[mask] / 255.0  # [pixels, 3]
    high, low = x.max(-1), x.min(-1)
    chroma = high - low
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    safe = np.where(chroma > 0, chroma, 1.0)
    hue = (
        np.where(
            high == r,
            ((g - b) / safe) % 6,
            np.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4),
        )
        / 6.0
    )
    saturation = np.where(high > 0, chroma / np.maximum(high, 1e-6), 0.0)
    hue_bin = np.minimum((hue * HUE_BINS).astype(np.int64), HUE_BINS - 1)
    band = np.minimum((saturation * SATURATION_BANDS).astype(np.int64), 2)
    bins = HUE_BINS * SATURATION_BANDS
    n = len(pixels)
    image = np.nonzero(mask)[0]
    counts = np.bincount(
        image * bins + band * HUE_BINS + hue_bin, minlength=n * bins
    ).reshape(n, bins)
    return np.sqrt(counts / np.maximum(counts.sum(1, keepdims=True), 1))


def _polar_bins(size: int):
    """Return the frequency plane's bin per pixel (or -1), for `_texture`."""
    yy, xx = np.mgrid[0:size, 0:size] - size // 2
    radius = np.hypot(yy, xx) / (size / 2)
    angle = (np.arctan2(yy, xx) % np.pi) / np.pi
    lowest = 0.05
    ring = np.log(np.clip(radius, 1e-3, None) / lowest) / np.log(1 / lowest)
    ring = np.minimum((ring * RADIAL_BINS).astype(np.int64), RADIAL_BINS - 1)
    sector = np.minimum((angle * ANGLE_BINS).astype(np.int64), ANGLE_BINS - 1)
    inside = (radius > lowest) & (radius < 1)
    return np.where(inside, ring * ANGLE_BINS + sector, -1)


def _texture(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Log shares of the foreground brightness's power per (scale, direction) bin."""
    n, size = len(pixels), pixels.shape[1]
    grey = pixels.mean(-1)
    weight = mask.astype(np.float32)
    mean = (grey * weight).sum((1, 2)) / np.maximum(weight.sum((1, 2)), 1)
    grey = (grey - mean[:, None, None]) * weight
    power = np.abs(np.fft.fftshift(np.fft.fft2(grey), axes=(1, 2))) ** 2
    bins = _polar_bins(size)
    inside = bins >= 0
    total = RADIAL_BINS * ANGLE_BINS
    index = bins[inside][None, :] + np.arange(n)[:, None] * total
    sums = np.bincount(
        index.ravel(), weights=power[:, inside].ravel(), minlength=n * total
    ).reshape(n, total)
    return np.log1p(sums / np.maximum(sums.sum(1, keepdims=True), 1e-6) * 1000)


def _gradients(pixels: np.ndarray) -> np.ndarray:
    """Histograms of oriented gradients per cell, as square roots of each picture's
    shares of gradient magnitude (so that contrast does not matter)."""
    n, size = len(pixels), pixels.shape[1]
    grey = pixels.mean(-1)
    gy, gx = np.gradient(grey, axis=(1, 2))
    magnitude = np.hypot(gx, gy)
    angle = np.arctan2(gy, gx) % np.pi
    orientation = np.minimum(
        (angle / np.pi * HOG_ORIENTATIONS).astype(np.int64), HOG_ORIENTATIONS - 1
    )
    cell = np.minimum(np.arange(size) * HOG_CELLS // size, HOG_CELLS - 1)
    index = (
        np.arange(n)[:, None, None] * HOG_CELLS**2
        + cell[None, :, None] * HOG_CELLS
        + cell[None, None, :]
    ) * HOG_ORIENTATIONS + orientation
    bins = HOG_CELLS**2 * HOG_ORIENTATIONS
    sums = np.bincount(
        index.ravel(), weights=magnitude.ravel(), minlength=n * bins
    ).reshape(n, bins)
    return np.sqrt(sums / np.maximum(sums.sum(1, keepdims=True), 1e-6))


def main_shape(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each mask's largest connected part, with and without its holes filled.

    The whole batch is labelled at once: the structure joins neighbours within a
    picture (4-connected, as `ndimage.label`'s default in 2-D), never across.
    """
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)
    labels, count = ndimage.label(mask, structure=structure)
    part = np.zeros_like(mask)
    if count:
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        sizes[0] = 0
        image_of = np.zeros(count + 1, dtype=np.int64)
        image_of[labels.ravel()] = np.repeat(np.arange(len(mask)), mask[0].size)
        # the largest label of each picture (ties: the first, as argmax)
        order = np.lexsort((np.arange(count + 1), -sizes, image_of))
        firsts = order[np.r_[True, image_of[order][1:] != image_of[order][:-1]]]
        keep = np.zeros(count + 1, dtype=bool)
        keep[firsts[sizes[firsts] > 0]] = True
        part = keep[labels]
    filled = ndimage.binary_fill_holes(part, structure=structure)
    return part, filled


def _outline(mask: np.ndarray) -> np.ndarray:
    """Corners (harmonics of radius by angle), fill, elongation, hole and size."""
    part, mask = main_shape(mask)
    n, size = mask.shape[0], mask.shape[1]
    weight = mask.astype(np.float32)
    area = np.maximum(weight.sum((1, 2)), 1)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cy = (weight * yy).sum((1, 2)) / area
    cx = (weight * xx).sum((1, 2)) / area
    dy = yy[None] - cy[:, None, None]
    dx = xx[None] - cx[:, None, None]
    radius = np.hypot(dy, dx) * weight
    sector = ((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * OUTLINE_ANGLES).astype(
        np.int64
    ) % OUTLINE_ANGLES
    signature = np.zeros(n * OUTLINE_ANGLES, dtype=np.float32)
    index = sector + np.arange(n)[:, None, None] * OUTLINE_ANGLES
    np.maximum.at(signature, index.ravel(), radius.ravel())
    signature = signature.reshape(n, OUTLINE_ANGLES)
    signature /= np.maximum(signature.mean(1, keepdims=True), 1e-6)
    harmonics = np.abs(np.fft.rfft(signature, axis=1))[:, 1 : OUTLINE_HARMONICS + 1]
    harmonics /= OUTLINE_ANGLES
    reach = np.maximum(radius.max((1, 2)), 1.0)
    fill = area / (np.pi * reach**2)
    syy = (weight * dy**2).sum((1, 2)) / area
    sxx = (weight * dx**2).sum((1, 2)) / area
    sxy = (weight * dx * dy).sum((1, 2)) / area
    spread = np.sqrt(((syy - sxx) / 2) ** 2 + sxy**2)
    middle = (syy + sxx) / 2
    elongation = (middle - spread) / np.maximum(middle + spread, 1e-6)
    hole = 1 - part.sum((1, 2)) / area
    return np.column_stack(
        [harmonics, fill, elongation, hole, signature.std(1), area / size**2]
    )


class ImageFeatures(Pickled):
    """Colour, texture and outline features of the picture, then shrunk LDA."""

    name = "image-features"
    use_image = True
    use_title = False

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.n_classes = 0
        self.temperature = 1.0
        self.pipeline = None

    def fit(
        self,
        images: np.ndarray,
        titles: Sequence[str] | None,
        labels: np.ndarray,
        n_classes: int,
        *,
        validation: tuple | None = None,
    ) -> "ImageFeatures":
        """Fit on the pictures; `validation` = (images, titles, labels) calibrates."""
        self.fit_features(image_features(images), labels, n_classes)
        if validation is not None and len(validation[2]):
            self.temperature = fit_temperature(
                self.logits(validation[0]), np.asarray(validation[2])
            )
        return self

    def fit_features(self, features, labels, n_classes: int) -> "ImageFeatures":
        """Fit on precomputed `image_features` (uncalibrated)."""
        labels = np.asarray(labels, dtype=np.int64)
        if len(np.unique(labels)) < 2:
            raise ValueError("The image features need pictures of two categories.")
        self.n_classes = n_classes
        self.pipeline = make_pipeline(StandardScaler(), _classifier(labels, self.seed))
        with warnings.catch_warnings():  # a category with one picture
            warnings.simplefilter("ignore", UserWarning)
            self.pipeline.fit(features, labels)
        return self

    def predict_proba(self, images, titles=None) -> np.ndarray:
        return apply_temperature(self.logits(images), self.temperature)

    def logits(self, images) -> np.ndarray:
        """Return log-probabilities over all classes (very low for unseen ones)."""
        images = np.asarray(images, dtype=np.uint8)
        return self.features_logits(
            image_features(images) if len(images) else np.zeros((0, n_features()))
        )

    def features_logits(self, features: np.ndarray) -> np.ndarray:
        """Return `logits` of precomputed `image_features`."""
        if self.pipeline is None:
            raise ValueError("The classifier has not been trained.")
        logits = np.full((len(features), self.n_classes), UNSEEN_LOGIT)
        if len(features):
            seen = self.pipeline.classes_
            proba = self.pipeline.predict_proba(features)
            logits[:, seen] = np.log(np.clip(proba, 1e-12, 1.0))
        return logits

    def hyperparameters(self) -> dict:
        classifier = "lda-ledoit-wolf"
        if self.pipeline is not None and not isinstance(
            self.pipeline[-1], LinearDiscriminantAnalysis
        ):
            classifier = "logistic-regression"
        return {
            "features": n_features(),
            "classifier": classifier,
            "temperature": self.temperature,
        }


def _classifier(labels: np.ndarray, seed: int):
    """Shrunk LDA; where there are no more pictures than categories (one each),
    which LDA cannot fit, an L2-regularised logistic regression."""
    if len(labels) > len(np.unique(labels)):
        return LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
    return LogisticRegression(C=0.1, max_iter=1000, random_state=seed)
