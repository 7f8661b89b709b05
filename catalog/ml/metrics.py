"""Evaluation of a categoriser: accuracy, macro-F1 and how much it files on its own."""

import numpy as np

from .policy import auto_assign


def classification_report(
    labels: np.ndarray,
    proba: np.ndarray,
    thresholds: np.ndarray,
    parent_of: np.ndarray | None = None,
    held: np.ndarray | None = None,
) -> dict:
    """Return the metrics of `proba` against `labels` under the auto-assign policy.

    `thresholds` are per category, [k], or per product and category, [n, k];
    `held` marks products sent to review whatever their confidence.
    `macro_f1` averages over the classes present in `labels` or predicted.
    `auto_assign_precision` is NaN when nothing is auto-assigned.
    """
    labels = np.asarray(labels)
    assigned, predicted, _ = auto_assign(proba, thresholds)
    if held is not None:
        assigned = assigned & ~np.asarray(held, dtype=bool)
    correct = predicted == labels
    classes = np.union1d(np.unique(labels), np.unique(predicted))
    per_class, f1s = {}, []
    for index in classes:
        true_positive = int(np.sum(correct & (labels == index)))
        n_predicted = int(np.sum(predicted == index))
        support = int(np.sum(labels == index))
        precision = true_positive / n_predicted if n_predicted else 0.0
        recall = true_positive / support if support else 0.0
        total = precision + recall
        f1s.append(2 * precision * recall / total if total else 0.0)
        per_class[int(index)] = {
            "precision": precision,
            "recall": recall,
            "support": support,
        }
    report = {
        "accuracy": float(np.mean(correct)) if len(labels) else float("nan"),
        "macro_f1": float(np.mean(f1s)) if f1s else float("nan"),
        "auto_assign_rate": float(np.mean(assigned)) if len(labels) else 0.0,
        "auto_assign_precision": (
            float(np.mean(correct[assigned])) if assigned.any() else float("nan")
        ),
        "per_class": per_class,
    }
    if parent_of is not None:
        parent_of = np.asarray(parent_of)
        report["parent_accuracy"] = float(
            np.mean(parent_of[predicted] == parent_of[labels])
        )
    return report
