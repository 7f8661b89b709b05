import numpy as np
import pytest

from catalog.ml.baselines import TitleOnly
from catalog.ml.classifier import ClassifierConfig, ProductClassifier
from catalog.ml.fusion import WEIGHTS, ImageTitleTfidf
from catalog.ml.image_features import (
    ImageFeatures,
    foreground,
    image_features,
    n_features,
)

from .synthetic import SIZE, products

TINY = ClassifierConfig(
    image_size=SIZE,
    widths=(8,),
    embedding_dim=8,
    title_dim=8,
    epochs=3,
    batch_size=32,
    patience=3,
    learning_rate=1e-2,
)


def test_features_describe_the_foreground_of_each_picture():
    images, _, _ = products(5)
    mask = foreground(images.astype(np.float32))
    assert mask.shape == (5, SIZE, SIZE)
    assert np.array_equal(mask, (images != 255).any(axis=-1))
    features = image_features(images)
    assert features.shape == (5, n_features()) and np.isfinite(features).all()
    assert image_features(images[:0]).shape == (0, n_features())


def test_image_features_model_learns_colours_from_few_pictures_and_round_trips():
    model = ImageFeatures().fit(*products(30), 4, validation=products(30, seed=1))
    images, _, labels = products(30, seed=2)
    proba = model.predict_proba(images)
    assert proba.shape == (30, 4) and np.allclose(proba.sum(axis=1), 1)
    assert np.mean(proba.argmax(axis=1) == labels) >= 0.9
    assert proba[:, 3].max() < 0.01  # a class never seen in training
    loaded = ImageFeatures.from_bytes(model.to_bytes())
    assert np.allclose(loaded.predict_proba(images), proba)
    with pytest.raises(ValueError):
        ImageFeatures.from_bytes(TitleOnly().to_bytes())


@pytest.fixture(scope="module")
def fused():
    model = ImageTitleTfidf(
        ProductClassifier(TINY, seed=1), TitleOnly(), ImageFeatures(), seed=1
    )
    return model.fit(*products(120), 3, validation=products(60, seed=1))


def test_fusion_weighs_image_features_out_of_fold_then_the_network(fused):
    assert fused.name == "image+title+tfidf+features"
    assert set(fused.share_nll) == set(WEIGHTS) == set(fused.validation_nll)
    assert fused.share_nll[fused.features_share] == min(fused.share_nll.values())
    assert fused.validation_nll[fused.weight] == min(fused.validation_nll.values())
    assert np.isclose(fused.image_weight, (1 - fused.weight) * fused.features_share)
    images, titles, labels = products(40, seed=2)
    proba = fused.predict_proba(images, titles)
    assert proba.shape == (40, 3) and np.allclose(proba.sum(axis=1), 1)
    assert np.mean(proba.argmax(axis=1) == labels) == 1
    assert "image_features_share" in fused.hyperparameters()


def test_cross_validation_gives_out_of_fold_log_probabilities(fused):
    images, titles, labels = products(40, seed=5)
    tfidf, pictures, out_labels = fused.cross_validate(images, titles, labels, 4)
    assert tfidf.shape == pictures.shape == (40, 4)
    assert np.array_equal(out_labels, labels)
    assert np.allclose(np.exp(pictures).sum(axis=1), 1)
    assert np.mean(pictures.argmax(axis=1) == labels) >= 0.9


def test_sku_titles_are_left_to_the_network_and_the_features_in_proportion(fused):
    chosen = fused.weight, fused.image_weight
    fused.weight, fused.image_weight = 0.2, 0.6  # fixed here, to test the mix
    try:
        images, _, _ = products(10, seed=3)
        skus = [f"FP-{1000 + row}" for row in range(10)]
        proba = fused.network.predict_proba(images, skus)
        network = np.log(np.clip(proba, 1e-12, 1))
        pictures = fused._image_log_probabilities(images)
        logits = (0.25 * network + 0.75 * pictures) / fused.temperature
        expected = np.exp(logits - logits.max(axis=1, keepdims=True))
        expected /= expected.sum(axis=1, keepdims=True)
        assert np.allclose(fused.predict_proba(images, skus), expected)
    finally:
        fused.weight, fused.image_weight = chosen


def test_fused_model_with_features_round_trips(fused):
    images, titles, _ = products(20, seed=4)
    loaded = ImageTitleTfidf.from_bytes(fused.to_bytes())
    assert loaded.image_model is not None
    assert loaded.validation_nll == fused.validation_nll
    assert loaded.share_nll == fused.share_nll
    assert np.allclose(
        loaded.predict_proba(images, titles), fused.predict_proba(images, titles)
    )
    assert loaded.hyperparameters() == fused.hyperparameters()
