import numpy as np

from catalog.ml.baselines import MajorityClass, TitleOnly

from .synthetic import products


def test_majority_predicts_training_frequencies_and_round_trips():
    model = MajorityClass().fit(None, ["a"] * 4, np.array([2, 2, 2, 0]), 4)
    proba = model.predict_proba(None, ["x", "y"])
    assert np.allclose(proba, [[0.25, 0, 0.75, 0]] * 2)
    assert np.allclose(MajorityClass.from_bytes(model.to_bytes()).frequencies, proba[0])


def test_title_only_learns_words_calibrates_and_round_trips():
    _, titles, labels = products(150)
    _, val_titles, val_labels = products(60, seed=1)
    model = TitleOnly().fit(
        None, titles, labels, 4, validation=(None, val_titles, val_labels)
    )
    _, test_titles, test_labels = products(40, seed=2)
    proba = model.predict_proba(None, test_titles)
    assert proba.shape == (40, 4)  # class 3 was never seen: near-zero probability
    assert np.all(proba[:, 3] < 1e-6)
    assert np.mean(proba.argmax(axis=1) == test_labels) == 1
    loaded = TitleOnly.from_bytes(model.to_bytes())
    assert np.allclose(loaded.predict_proba(None, test_titles), proba)
