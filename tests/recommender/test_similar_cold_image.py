"""Cold start of "similar products" through the image model's picture embeddings."""

import numpy as np
import pytest
from django.utils import timezone

from catalog.categorisation import image_embeddings_store
from catalog.selectors import image_embeddings_for
from recommender.ml.similar import similar_items
from recommender.mlkind import RecommenderKind
from recommender.training_data import training_frame
from tests.catalog.categorisation_support import image_version
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
)

# Items 0-3 share a category; 4 is elsewhere. Item 3 is new (no interactions).
CATEGORY = np.array([0, 0, 0, 0, 1])
BAND = np.zeros(5, dtype=np.int64)
POPULARITY = np.array([1.0, 50.0, 5.0, 0.0, 80.0])
KNOWN = POPULARITY > 0
BEHAVIOUR = np.array([[1, 0], [0.8, 0.2], [0, 1], [0, 0], [1, 1]], dtype=np.float32)
# Item 3's picture is nearly item 0's; item 1 (far more popular) looks different.
PICTURES = np.array(
    [[1, 0, 0], [0, 1, 0], [0, 0.7, 0.7], [0.95, 0.1, 0], [1, 0, 0]], np.float32
)


def test_a_cold_item_follows_its_picture_over_popularity():
    neighbours, scores = similar_items(
        BEHAVIOUR,
        3,
        CATEGORY,
        BAND,
        known=KNOWN,
        popularity=POPULARITY,
        image_embeddings=PICTURES,
    )
    assert neighbours[3].tolist()[0] == 0  # looks alike, though 1 sells 50 times more
    assert 4 not in neighbours[3]  # never outside its category
    unit = PICTURES / np.linalg.norm(PICTURES, axis=1, keepdims=True)
    assert np.isclose(scores[3, 0], unit[3] @ unit[0])
    # known items still follow behaviour
    assert neighbours[0, 0] == 1


def test_without_a_picture_a_cold_item_gets_popular_items_of_its_category():
    pictures = PICTURES.copy()
    pictures[3] = 0
    for embeddings in (pictures, None):
        neighbours, scores = similar_items(
            BEHAVIOUR,
            3,
            CATEGORY,
            BAND,
            known=KNOWN,
            popularity=POPULARITY,
            image_embeddings=embeddings,
        )
        assert neighbours[3].tolist() == [1, 2, 0]
        assert np.isclose(scores[3, 0], 50 / POPULARITY.sum())


def test_the_price_band_counts_at_cold_start_but_less_than_the_look():
    band = np.array([1, 0, 0, 0, 0])  # item 0 is in another price band than item 3
    pictures = PICTURES.copy()
    pictures[2] = [0.9, 0.2, 0.1]  # item 2 looks almost as alike as item 0
    neighbours, _ = similar_items(
        BEHAVIOUR,
        3,
        CATEGORY,
        band,
        known=KNOWN,
        popularity=POPULARITY,
        image_embeddings=pictures,
    )
    assert neighbours[3, 0] == 2  # same band tips a near tie
    neighbours, _ = similar_items(
        BEHAVIOUR,
        3,
        CATEGORY,
        band,
        known=KNOWN,
        popularity=POPULARITY,
        image_embeddings=PICTURES,
    )
    assert neighbours[3, 0] == 0  # a clearly closer look beats the band


@pytest.mark.django_db
def test_embeddings_are_read_aligned_with_products_from_one_version():
    a, b, c = ProductFactory(), ProductFactory(), ProductFactory()
    old, new = image_version(1), image_version(2, status="champion")
    image_embeddings_store([a.pk], np.array([[0.0, 2.0]]), version=new)
    image_embeddings_store([b.pk], np.array([[1.0, 0.0]]), version=old)

    vectors = image_embeddings_for([c.pk, a.pk, b.pk])

    assert vectors.tolist() == [[0, 0], [0, 1], [0, 0]]  # unit rows, champion only
    assert image_embeddings_for([a.pk]).shape == (1, 2)


@pytest.mark.django_db
def test_the_recommender_kind_lists_a_new_product_by_its_picture():
    shirts, shoes = CategoryFactory(name="Shirts"), CategoryFactory(name="Shoes")
    twin, popular, other = (
        ProductFactory(category=shirts, price=20),
        ProductFactory(category=shirts, price=20),
        ProductFactory(category=shoes, price=20),
    )
    new = ProductFactory(category=shirts, price=20)
    for i in range(6):
        order = OrderFactory(customer=CustomerFactory(), placed_at=timezone.now())
        OrderLineFactory(order=order, product=popular)
        OrderLineFactory(order=order, product=other)
        if i == 0:
            OrderLineFactory(order=order, product=twin)
    image_embeddings_store(
        [twin.pk, popular.pk, new.pk],
        np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]]),
        version=image_version(status="champion"),
    )
    frame = training_frame()

    class Behaviour:  # stands in for SASRec: everything known looks the same
        def item_embeddings(self):
            return np.ones((len(frame.product_ids), 4), np.float32)

    lists = RecommenderKind()._product_lists(frame, Behaviour())

    row = int(np.flatnonzero(frame.product_ids == new.pk)[0])
    first = frame.product_ids[lists["similar"][row, 0]]
    assert first == twin.pk
    assert lists["similar_by_picture"][row]
    assert not lists["similar_known"][row]
