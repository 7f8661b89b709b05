import numpy as np
import pytest

from catalog.ml.metrics import classification_report


def test_report_by_hand():
    labels = np.array([0, 0, 1, 1, 2])
    proba = np.array(
        [
            [0.9, 0.05, 0.05],  # 0 -> 0, assigned
            [0.2, 0.7, 0.1],  # 0 -> 1, not assigned (threshold 0.8)
            [0.1, 0.85, 0.05],  # 1 -> 1, assigned
            [0.1, 0.6, 0.3],  # 1 -> 1, not assigned
            [0.95, 0.0, 0.05],  # 2 -> 0, assigned, wrong
        ]
    )
    report = classification_report(
        labels, proba, np.array([0.5, 0.8, 0.5]), parent_of=np.array([0, 0, 1])
    )
    assert report["accuracy"] == pytest.approx(3 / 5)
    # Class 0: P 1/2, R 1/2, F1 1/2. Class 1: P 2/3, R 1, F1 4/5. Class 2: F1 0.
    assert report["macro_f1"] == pytest.approx((0.5 + 0.8 + 0) / 3)
    assert report["auto_assign_rate"] == pytest.approx(3 / 5)
    assert report["auto_assign_precision"] == pytest.approx(2 / 3)
    # Parents: classes 0 and 1 share parent 0, so only the last row is wrong.
    assert report["parent_accuracy"] == pytest.approx(4 / 5)
    assert report["per_class"][1] == {"precision": 2 / 3, "recall": 1.0, "support": 2}
    assert report["per_class"][2] == {"precision": 0.0, "recall": 0.0, "support": 1}


def test_nothing_assigned_has_no_precision():
    report = classification_report(
        np.array([0, 1]), np.array([[0.6, 0.4], [0.4, 0.6]]), np.array([np.inf] * 2)
    )
    assert report["auto_assign_rate"] == 0
    assert np.isnan(report["auto_assign_precision"])
    assert "parent_accuracy" not in report
