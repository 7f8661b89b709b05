import numpy as np

from catalog.ml.policy import auto_assign, thresholds_for_precision


def proba_for(predicted, confidence, n_classes=2):
    """Rows whose top class is `predicted` with probability `confidence`."""
    proba = np.full((len(predicted), n_classes), 0.0)
    for row, (cls, conf) in enumerate(zip(predicted, confidence, strict=True)):
        proba[row] = (1 - conf) / (n_classes - 1)
        proba[row, cls] = conf
    return proba


def test_threshold_is_the_lowest_confidence_reaching_the_target():
    # Class 0 predicted 5 times: confidences 0.9 (right), 0.8 (right), 0.7 (wrong),
    # 0.6 (right), 0.55 (right). Precision from the top: 1, 1, 2/3, 3/4, 4/5.
    proba = proba_for([0] * 5, [0.9, 0.8, 0.7, 0.6, 0.55])
    labels = np.array([0, 0, 1, 0, 0])
    assert thresholds_for_precision(proba, labels, 0.8, min_support=1)[0] == 0.55
    assert thresholds_for_precision(proba, labels, 0.95, min_support=1)[0] == 0.8


def test_thresholds_reach_the_target_on_validation():
    rng = np.random.default_rng(0)
    n, n_classes = 3000, 3
    labels = rng.integers(0, n_classes, n)
    logits = rng.normal(0, 1, (n, n_classes))
    logits[np.arange(n), labels] += rng.uniform(0, 4, n)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    thresholds = thresholds_for_precision(proba, labels, target=0.95)
    assigned, predicted, _ = auto_assign(proba, thresholds)
    for cls in range(n_classes):
        rows = assigned & (predicted == cls)
        assert rows.sum() > 50
        assert np.mean(labels[rows] == cls) >= 0.95
    assert assigned.mean() < 1  # the target is not met by assigning everything


def test_unreachable_target_never_assigns():
    proba = proba_for([0, 0, 0, 0], [0.9, 0.8, 0.7, 0.6])
    labels = np.array([1, 1, 0, 0])  # the most confident are wrong
    thresholds = thresholds_for_precision(proba, labels, 0.9, min_support=1)
    assert thresholds[0] == np.inf
    assigned, _, _ = auto_assign(proba, thresholds)
    assert not assigned.any()


def test_rare_class_uses_the_pooled_threshold():
    # Class 0: 30 confident right answers; class 1 only 2 predictions, both right.
    predicted = [0] * 30 + [1, 1]
    confidence = list(np.linspace(0.6, 0.99, 30)) + [0.51, 0.95]
    labels = np.array(predicted)
    labels[:3] = 1  # the three least confident class-0 predictions are wrong
    thresholds = thresholds_for_precision(
        proba_for(predicted, confidence), labels, 0.99, min_support=5
    )
    own_class_0 = np.linspace(0.6, 0.99, 30)[3]
    assert thresholds[0] == own_class_0
    assert thresholds[1] == own_class_0  # pooled, not its own 0.51


def test_ties_are_cut_together():
    proba = proba_for([0, 0, 0], [0.9, 0.7, 0.7])
    labels = np.array([0, 0, 1])
    assert thresholds_for_precision(proba, labels, 0.9, min_support=1)[0] == 0.9


def test_auto_assign_returns_mask_class_and_confidence():
    proba = np.array([[0.9, 0.1], [0.3, 0.7], [0.55, 0.45]])
    assigned, predicted, confidence = auto_assign(proba, np.array([0.6, 0.8]))
    assert assigned.tolist() == [True, False, False]
    assert predicted.tolist() == [0, 1, 0]
    assert np.allclose(confidence, [0.9, 0.7, 0.55])


def test_a_lower_bound_needs_more_evidence_than_the_observed_precision():
    # 30 right at 0.9 and above: 100% observed, but not enough to promise 99%
    proba = np.array([[0.95, 0.05]] * 30 + [[0.6, 0.4]] * 5)
    labels = np.array([0] * 30 + [1] * 5)
    assert thresholds_for_precision(proba, labels, 0.99, min_support=1)[0] == 0.95
    lower = thresholds_for_precision(proba, labels, 0.99, min_support=1, z=1.0)
    assert lower[0] == np.inf
    many = np.array([[0.95, 0.05]] * 200)
    assert thresholds_for_precision(many, np.zeros(200), 0.99, z=1.0)[0] == 0.95
