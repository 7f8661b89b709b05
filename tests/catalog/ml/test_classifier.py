import numpy as np
import pytest

from catalog.ml.classifier import (
    ClassifierConfig,
    ProductClassifier,
    class_weights,
    frequent_words,
    words,
)

from .synthetic import SIZE, products

TINY = ClassifierConfig(
    image_size=SIZE,
    widths=(8, 16),
    embedding_dim=8,
    title_dim=8,
    epochs=12,
    batch_size=32,
    patience=12,
    learning_rate=1e-2,
    title_dropout=0.5,
    batch_norm_momentum=0.9,  # few steps: running statistics must keep up
)


@pytest.fixture(scope="module")
def trained():
    images, titles, labels = products(300)
    seen = []
    model = ProductClassifier(
        TINY, seed=1, progress=lambda fraction, message: seen.append(fraction)
    )
    model.fit(images, titles, labels, 3, validation=products(60, seed=1))
    return model, seen


def test_fused_model_classifies_and_reports_progress(trained):
    model, seen = trained
    images, titles, labels = products(90, seed=2)
    proba = model.predict_proba(images, titles)
    assert proba.shape == (90, 3)
    assert np.allclose(proba.sum(axis=1), 1)
    assert np.mean(proba.argmax(axis=1) == labels) >= 0.95
    assert seen[0] == 0 and seen[-1] == 1 and seen == sorted(seen)


def test_image_alone_still_classifies_when_titles_say_nothing(trained):
    model, _ = trained
    images, _, labels = products(90, seed=3)
    skus = [f"FP-{1000 + row}" for row in range(90)]
    proba = model.predict_proba(images, skus)
    assert np.mean(proba.argmax(axis=1) == labels) >= 0.9


def test_round_trip_predicts_the_same(trained):
    model, _ = trained
    images, titles, _ = products(20, seed=4)
    loaded = ProductClassifier.from_bytes(model.to_bytes())
    assert np.allclose(
        loaded.predict_proba(images, titles), model.predict_proba(images, titles)
    )
    assert loaded.hyperparameters() == model.hyperparameters()
    assert loaded.hyperparameters()["temperature"] == model.temperature


def test_embeddings_are_unit_vectors_closer_within_a_class(trained):
    model, _ = trained
    images, _, labels = products(60, seed=5)
    vectors = model.embed(images)
    assert vectors.shape == (60, TINY.embedding_dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    cosine = vectors @ vectors.T
    same = labels[:, None] == labels[None, :]
    assert cosine[same].mean() > cosine[~same].mean() + 0.2


def test_one_pass_gives_the_same_probabilities_and_embeddings(trained):
    model, _ = trained
    images, titles, _ = products(20, seed=6)
    proba, vectors = model.predict_with_embeddings(images, titles)
    assert np.allclose(proba, model.predict_proba(images, titles), atol=1e-5)
    assert np.allclose(vectors, model.embed(images), atol=1e-5)
    loaded = ProductClassifier.from_bytes(model.to_bytes())
    assert np.allclose(loaded.embed(images), vectors, atol=1e-5)
    empty_proba, empty = model.predict_with_embeddings(images[:0], [])
    assert empty_proba.shape == (0, 3) and empty.shape == (0, TINY.embedding_dim)


def test_title_only_model_reads_words():
    _, titles, labels = products(200)
    model = ProductClassifier(TINY, use_image=False).fit(None, titles, labels, 3)
    _, test_titles, test_labels = products(40, seed=6)
    proba = model.predict_proba(None, test_titles)
    assert np.mean(proba.argmax(axis=1) == test_labels) == 1
    with pytest.raises(ValueError, match="does not read images"):
        model.embed(np.zeros((1, SIZE, SIZE, 3), dtype=np.uint8))


def test_labels_outside_the_classes_are_refused():
    _, titles, _ = products(10)
    model = ProductClassifier(TINY, use_image=False)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        model.fit(None, titles, np.full(10, 3), 3)


def test_words_match_text_vectorisation_tokens():
    assert words("Men's Navy-Blue T-Shirt") == [
        "mens",
        "navyblue",
        "tshirt",
        "mens navyblue",
        "navyblue tshirt",
    ]
    titles = ["Blue shirt", "blue SHIRT", "red shoe"]
    assert frequent_words(titles, min_count=2, max_words=10) == [
        "blue",
        "blue shirt",
        "shirt",
    ]


def test_class_weights_lift_rare_classes():
    weights = class_weights(np.array([0, 0, 0, 0, 1]), 3, power=1.0)
    # Unnormalised: class 0 weight 1, class 1 weight 4; mean over rows 8/5.
    assert np.allclose(weights, [5 / 8] * 4 + [20 / 8])
    assert np.allclose(class_weights(np.array([0, 0, 1]), 2, power=0.0), 1)
