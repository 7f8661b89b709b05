"""Pure ML helpers: metrics, the protocol split, progress, the shared training loop."""

import numpy as np
import pytest

from mlops.ml.progress import Progress, ProgressTracker
from mlops.ml.ranking_metrics import (
    catalogue_coverage,
    hit_rate_at,
    ndcg_at,
    ranking_report,
    top_k,
)
from recommender.ml.protocol import Interactions, SeenItems, leave_last_out


def test_ranking_metrics_by_hand():
    ranked = np.array([[3, 1, 2], [0, 2, 1], [4, 0, 1]])
    held_out = np.array([1, 0, 2])

    assert hit_rate_at(ranked, held_out, 2) == pytest.approx(2 / 3)
    # ranks 2, 1, miss -> (1/log2(3) + 1 + 0) / 3
    assert ndcg_at(ranked, held_out, 3) == pytest.approx((1 / np.log2(3) + 1) / 3)
    assert catalogue_coverage(ranked, n_items=10, k=1) == pytest.approx(0.3)
    assert set(ranking_report(ranked, held_out, 5)) == {
        "hr@10",
        "ndcg@10",
        "recall@20",
        "coverage",
    }


def test_top_k_orders_best_first_and_respects_exclusions():
    scores = np.array([[0.1, 0.9, 0.5, 0.7]])
    assert top_k(scores, 2).tolist() == [[1, 3]]
    exclude = np.array([[False, True, False, False]])
    assert top_k(scores, 2, exclude).tolist() == [[3, 2]]


def test_leave_last_out_holds_out_last_and_second_to_last():
    data = Interactions(
        user=np.array([0, 0, 0, 1, 1, 0]),
        item=np.array([5, 6, 7, 1, 2, 8]),
        day=np.array([1, 2, 3, 1, 2, 4]),
        n_users=2,
        n_items=10,
    )
    split = leave_last_out(data, min_interactions=3)

    assert split.test_users.tolist() == [0] and split.test.items.tolist() == [8]
    assert split.validation.items.tolist() == [7]
    assert sorted(split.train.item.tolist()) == [1, 2, 5, 6]  # user 1 keeps all
    assert sorted(split.train_plus_validation.item.tolist()) == [1, 2, 5, 6, 7]


def test_seen_items_mask():
    history = Interactions(np.array([0, 1, 1]), np.array([2, 0, 3]), np.zeros(3), 2, 4)
    mask = SeenItems(history).mask(np.array([1, 0]))
    assert mask.tolist() == [[True, False, False, True], [False, False, True, False]]


def test_rows_of_groups_a_users_rows_in_the_asked_order():
    history = Interactions(
        np.array([2, 0, 2, 1, 0, 2]), np.arange(6), np.zeros(6), n_users=4, n_items=6
    )

    position, row = history.rows_of(np.array([2, 3, 0]))

    assert position.tolist() == [0, 0, 0, 2, 2]  # user 3 has no rows
    assert row.tolist() == [0, 2, 5, 1, 4]  # each user's rows in stored order
    assert history.rows_of(np.array([1]))[1].tolist() == [3]  # sorted once, reused


def test_progress_tracker_throttles_and_computes_eta():
    now = [0.0]
    seen: list[Progress] = []
    tracker = ProgressTracker(seen.append, 4, interval=1.0, clock=lambda: now[0])
    now[0] = 2.0
    tracker.update(1)
    now[0] = 2.5
    tracker.update(2)  # within the interval: dropped
    now[0] = 4.0
    tracker.update(2)
    assert [(p.step, p.percent, p.eta_seconds) for p in seen] == [
        (1, 25.0, 6.0),
        (2, 50.0, 4.0),
    ]


def test_fit_with_early_stopping_keeps_the_best_weights_and_reports_progress():
    import keras

    from mlops.ml.device import setup_device
    from mlops.ml.training import fit_with_early_stopping

    device = setup_device(seed=3)
    assert device.accelerator == "cpu" and not device.mixed_precision
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(0, 0.1, 256)).astype(
        "float32"
    )
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    updates: list[Progress] = []

    result = fit_with_early_stopping(
        model, x, y, epochs=40, batch_size=32, patience=3, progress=updates.append
    )

    assert result.best_val_loss == min(result.history["val_loss"])
    assert result.best_val_loss < 0.1
    assert updates[-1].percent == 100.0
    # restore_best_weights: the model now scores the best epoch's validation loss
    assert result.epochs_run >= result.best_epoch


def test_a_spent_time_budget_stops_training_after_the_first_epoch():
    import keras

    from mlops.ml.device import setup_device
    from mlops.ml.training import fit_with_early_stopping

    setup_device(seed=3)
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")

    result = fit_with_early_stopping(
        model, x, x[:, 0], epochs=30, batch_size=32, patience=30, time_budget_s=1e-6
    )
    unlimited = fit_with_early_stopping(
        model, x, x[:, 0], epochs=3, batch_size=32, patience=30, time_budget_s=None
    )

    assert result.epochs_run == 1 and result.budget_spent
    assert unlimited.epochs_run == 3 and not unlimited.budget_spent
