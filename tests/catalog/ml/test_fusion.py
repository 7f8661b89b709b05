import numpy as np
import pytest

from catalog.ml.baselines import TitleOnly
from catalog.ml.classifier import ClassifierConfig, ProductClassifier
from catalog.ml.fusion import WEIGHTS, ImageTitleTfidf

from .synthetic import SIZE, products

TINY = ClassifierConfig(
    image_size=SIZE,
    widths=(8, 16),
    embedding_dim=8,
    title_dim=8,
    epochs=5,
    batch_size=32,
    patience=5,
    learning_rate=1e-2,
    title_dropout=0.5,
    batch_norm_momentum=0.9,
)


@pytest.fixture(scope="module")
def fused():
    validation = products(60, seed=1)
    model = ImageTitleTfidf(ProductClassifier(TINY, seed=1), TitleOnly(), seed=1)
    return model.fit(*products(180), 3, validation=validation)


def test_fusion_weighs_both_models_on_validation_and_classifies(fused):
    assert fused.weight in WEIGHTS and set(fused.validation_nll) == set(WEIGHTS)
    assert fused.validation_nll[fused.weight] == min(fused.validation_nll.values())
    images, titles, labels = products(60, seed=2)
    proba = fused.predict_proba(images, titles)
    assert proba.shape == (60, 3) and np.allclose(proba.sum(axis=1), 1)
    assert np.mean(proba.argmax(axis=1) == labels) == 1
    with_embeddings, vectors = fused.predict_with_embeddings(images, titles)
    assert np.allclose(with_embeddings, proba, atol=1e-5)
    assert np.allclose(vectors, fused.embed(images), atol=1e-5)


def test_titles_the_network_cannot_read_are_left_to_the_image(fused):
    images, _, _ = products(20, seed=3)
    skus = [f"FP-{1000 + row}" for row in range(20)]
    network = fused.network.predict_proba(images, skus)
    expected = np.exp(np.log(np.clip(network, 1e-12, 1)) / fused.temperature)
    expected /= expected.sum(axis=1, keepdims=True)
    assert np.allclose(fused.predict_proba(images, skus), expected)


def test_fused_model_round_trips(fused):
    images, titles, _ = products(20, seed=4)
    loaded = ImageTitleTfidf.from_bytes(fused.to_bytes())
    assert np.allclose(
        loaded.predict_proba(images, titles), fused.predict_proba(images, titles)
    )
    assert loaded.hyperparameters() == fused.hyperparameters()
    assert fused.predict_proba(images[:0], []).shape == (0, 3)
