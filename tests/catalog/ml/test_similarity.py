import numpy as np

from catalog.ml.similarity import (
    nearest_neighbours,
    unit_rows,
    vector_bytes,
    vector_from_bytes,
)


def test_unit_rows_and_bytes_round_trip():
    vectors = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert np.allclose(vectors, [[0.6, 0.8], [0.0, 0.0]])
    assert np.array_equal(vector_from_bytes(vector_bytes(vectors[0])), vectors[0])
    assert len(vector_bytes(vectors[0])) == 8


def test_neighbours_by_cosine_never_the_item_itself():
    vectors = unit_rows(np.array([[1, 0], [0.9, 0.1], [0, 1], [0.2, 1.0]]))
    neighbours, scores = nearest_neighbours(
        vectors, vectors, 2, query_rows=np.arange(4), block=3
    )
    assert neighbours.tolist() == [[1, 3], [0, 3], [3, 1], [2, 1]]
    assert np.all(np.diff(scores, axis=1) <= 0)
    assert np.isclose(scores[0, 0], vectors[0] @ vectors[1])


def test_fewer_candidates_than_k_are_padded():
    vectors = unit_rows(np.array([[1.0, 0.0], [0.0, 1.0]]))
    neighbours, scores = nearest_neighbours(vectors, vectors, 3, query_rows=[0, 1])
    assert neighbours.tolist() == [[1, -1, -1], [0, -1, -1]]
    assert scores[:, 1:].tolist() == [[0, 0], [0, 0]]


def test_a_query_outside_the_catalogue_sees_every_row():
    vectors = unit_rows(np.array([[1.0, 0.0], [0.0, 1.0]]))
    neighbours, _ = nearest_neighbours(vectors[:1], vectors, 2, query_rows=[-1])
    assert neighbours.tolist() == [[0, 1]]
