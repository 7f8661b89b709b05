"""RFM scores and named segments on hand-checkable numbers."""

import numpy as np
import pytest

from recommender.ml.rfm import fit_edges, quintile_score, rfm_scores, segment_names


def test_quintile_score_counts_edges_strictly_below():
    edges = np.array([1.0, 1.0, 2.0, 4.0])
    assert quintile_score(np.array([1, 2, 3, 4, 5]), edges).tolist() == [1, 3, 4, 4, 5]


def test_edges_ignore_customers_who_never_bought():
    edges = fit_edges(
        np.array([0, 10, 20, 30, 40, 50]),
        np.array([0, 1, 2, 3, 4, 5]),
        np.array([0.0, 10, 20, 30, 40, 50]),
    )
    assert edges.frequency.tolist() == [1.8, 2.6, 3.4, 4.2]
    assert edges.recency.tolist() == [18.0, 26.0, 34.0, 42.0]


def test_recent_scores_high_and_never_bought_scores_zero():
    edges = fit_edges(
        np.arange(1, 11) * 10.0, np.arange(1, 11), np.arange(1, 11) * 100.0
    )
    r, f, m = rfm_scores(
        np.array([5, 100, 0]),
        np.array([10, 1, 0]),
        np.array([1000.0, 100.0, 0.0]),
        edges,
    )
    assert (r.tolist(), f.tolist(), m.tolist()) == ([5, 1, 0], [5, 1, 0], [5, 1, 0])


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (5, 5, 1, "champions"),
        (4, 4, 5, "champions"),
        (3, 4, 1, "loyal"),
        (4, 3, 1, "loyal"),
        (5, 1, 1, "new"),
        (4, 2, 1, "potential"),
        (3, 1, 1, "potential"),
        (1, 5, 5, "cant_lose"),
        (2, 4, 3, "at_risk"),
        (1, 3, 1, "at_risk"),
        (2, 1, 5, "hibernating"),
        (1, 2, 5, "lost"),
        (0, 0, 0, "new"),
    ],
)
def test_segment_grid(r, f, m, segment):
    names = segment_names(np.array([r]), np.array([f]), np.array([m]))
    assert names.tolist() == [segment]


def test_never_bought_is_new_only_if_recently_joined():
    zeros = np.zeros(2, dtype=int)
    names = segment_names(zeros, zeros, zeros, np.array([True, False]))
    assert names.tolist() == ["new", "lost"]
