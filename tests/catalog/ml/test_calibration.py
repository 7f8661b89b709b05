import numpy as np
import pytest

from catalog.ml.calibration import (
    apply_temperature,
    fit_temperature,
    negative_log_likelihood,
)


def overconfident(n=2000, seed=0):
    """Logits drawn from a calibrated model at temperature 1, then multiplied by 4."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, size=(n, 4))
    proba = apply_temperature(logits, 1.0)
    labels = np.array([rng.choice(4, p=row) for row in proba])
    return logits * 4, labels


def test_temperature_undoes_overconfidence_and_lowers_nll():
    logits, labels = overconfident()
    temperature = fit_temperature(logits, labels)
    assert temperature == pytest.approx(4, rel=0.15)
    before = negative_log_likelihood(apply_temperature(logits, 1.0), labels)
    after = negative_log_likelihood(apply_temperature(logits, temperature), labels)
    assert after < before - 0.3


def test_temperature_keeps_the_ranking_and_sums_to_one():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0]])
    proba = apply_temperature(logits, 2.5)
    assert np.allclose(proba.sum(axis=1), 1)
    assert np.array_equal(proba.argmax(axis=1), [0, 1])
    assert proba[0, 0] == pytest.approx(np.exp(0.8) / (np.exp(0.8) + np.exp(0.4) + 1))
