"""k-means, the held-out choice of k and cluster names on tiny data."""

import numpy as np
import pytest

from recommender.ml.clusters import (
    assign,
    choose_k,
    customer_vectors,
    describe_clusters,
    kmeans,
    price_band,
    price_band_edges,
    silhouette,
)


def blobs(centres, per=30, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [np.asarray(c) + spread * rng.normal(size=(per, len(c))) for c in centres]
    )


def test_kmeans_finds_separated_groups():
    x = blobs([[0, 0], [5, 5]])
    labels = assign(x, kmeans(x, 2))
    assert len(set(labels[:30])) == 1 and len(set(labels[30:])) == 1
    assert labels[0] != labels[-1]


def test_silhouette_by_hand():
    x = np.array([[0.0], [1.0], [10.0], [11.0]])
    # a = 1, b = 10 (mean of 10 and 9 for the outer points, 10 for inner ones)
    s = silhouette(x, np.array([0, 0, 1, 1]))
    assert s == pytest.approx(np.mean([1 - 1 / 10.5, 1 - 1 / 9.5] * 2))
    assert silhouette(x, np.zeros(4, dtype=int)) == 0.0


def test_held_out_silhouette_picks_the_true_number_of_groups():
    x = blobs([[0, 0], [4, 0], [0, 4]], per=40)
    k, centroids, scores = choose_k(x, ks=(2, 3, 4, 5))
    assert k == 3
    assert centroids.shape == (3, 2)
    assert max(scores, key=scores.get) == 3


def test_vectors_are_unit_codes_and_weighted_price_position():
    vectors = customer_vectors(
        np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]]), np.array([0.9, 0.5])
    )
    assert np.allclose(vectors[0], [0.6, 0.8, 0.0, 0.45])
    assert np.allclose(vectors[1], [0, 0, 0, 0.25])


def test_clusters_are_named_after_their_members_categories_and_price():
    labels = np.array([0, 0, 1, 1])
    shares = np.array([[0.7, 0.3, 0], [0.5, 0.5, 0], [0, 0, 1], [0, 0.1, 0.9]])
    position = np.array([0.9, 0.8, 0.1, 0.2])
    names = describe_clusters(
        labels, 3, shares, position, ["Garden", "Kitchen", "Toys"]
    )
    assert names == ["Garden & Kitchen, premium", "Toys, budget", "Empty"]


def test_price_bands_split_customers_in_thirds():
    edges = price_band_edges(np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]))
    bands = price_band(np.array([0.1, 0.35, 0.6]), edges)
    assert bands.tolist() == ["budget", "mid-price", "premium"]
