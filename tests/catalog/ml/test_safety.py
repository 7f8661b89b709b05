"""Kinds of names, per-kind thresholds and the review rules (no database)."""

import numpy as np

from catalog.ml.policy import auto_assign
from catalog.ml.safety import (
    MIXED,
    NAMED,
    UNNAMED,
    ReviewRules,
    input_kinds,
    known_share,
    row_thresholds,
)

VOCABULARY = ["red", "cotton", "shirt", "leather", "shoe"]


def test_codes_empty_names_and_other_languages_are_unnamed():
    names = [
        "Red cotton shirt",
        "IMG-18653",
        "A7-33-XK",
        "0004512",
        "SKU_ab12",
        "",
        "Camisa de algodón",
        "red camisa de algodón",
    ]
    kinds = input_kinds(names, VOCABULARY).tolist()
    assert kinds == [NAMED] + [UNNAMED] * 6 + [MIXED]
    assert known_share(["red shirt size 40"], VOCABULARY)[0] == 0.5


def test_each_kind_gets_its_own_thresholds():
    named, unnamed = np.array([0.5, 0.6]), np.array([0.9, 0.95])
    rows = row_thresholds(np.array([NAMED, UNNAMED]), named, unnamed)
    proba = np.array([[0.8, 0.2], [0.8, 0.2]])
    assigned, _, _ = auto_assign(proba, rows)
    assert assigned.tolist() == [True, False]  # the picture-only one needs 0.9


def test_review_rules_flag_what_validation_never_saw():
    rng = np.random.default_rng(0)
    train = rng.normal(0, 1, (300, 6))
    val = rng.normal(0, 1, (100, 6))
    labels = rng.integers(0, 3, 100)
    proba = np.full((100, 3), 0.025)
    proba[np.arange(100), labels] = 0.95
    rules = ReviewRules()
    rules.fit_reference(train)
    rules.fit_cutoffs(NAMED, proba, labels, np.full(3, 0.9), proba, val)

    unusual = np.vstack([val[:1], val[:1] + 40])  # the second far from everything
    spread = np.array([[0.95, 0.025, 0.025], [0.4, 0.35, 0.25]])
    disagree = np.array([[0.95, 0.025, 0.025], [0.0001, 0.9998, 0.0001]])
    reasons = rules.reasons(
        np.array([NAMED, NAMED]), spread, disagree, unusual, ["A", "B", "C"]
    )
    assert reasons[0] == ""
    assert "picture unlike every training picture" in reasons[1]
    assert "the picture says B" in reasons[1]
    assert "confidence spread over several categories" in reasons[1]
    mixed = rules.reasons(np.array([MIXED]), spread[:1], None, None)
    assert mixed == ["name mostly of words never seen in training"]
    assert ReviewRules.from_bytes(rules.to_bytes()).summary() == rules.summary()
