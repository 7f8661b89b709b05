"""The learned customer representation: customers who buy alike get nearby codes."""

import numpy as np

from recommender.ml.customer_encoder import (
    EncoderConfig,
    bags,
    build_vocabulary,
    encode,
    fit_encoder,
)


def two_tastes(customers=120, seed=0):
    """Half the customers buy products 0–9 (category 1), half 10–19 (category 2)."""
    rng = np.random.default_rng(seed)
    customer, product = [], []
    for c in range(customers):
        base = 0 if c % 2 == 0 else 10
        for _ in range(rng.integers(3, 8)):
            customer.append(c)
            product.append(base + int(rng.integers(10)))
    customer, product = np.array(customer), np.array(product)
    category = np.where(product < 10, 1, 2)
    return customer, product, category, category - 1


def test_every_purchase_counts_in_its_category_and_group_and_frequent_products():
    customer = np.array([0, 1, 2, 0, 1])
    product = np.array([7, 7, 7, 9, 9])
    vocab = build_vocabulary(customer, product, 3, 2, min_buyers=3)
    assert vocab.products.tolist() == [7]
    assert vocab.width == 1 + 3 + 2
    index, column = vocab.columns(np.array([7, 9]), np.array([1, 2]), np.array([0, -1]))
    assert sorted(zip(index.tolist(), column.tolist(), strict=True)) == [
        (0, 0),
        (0, 2),
        (0, 4),
        (1, 3),
    ]


def test_bags_are_normalised_log_counts():
    vocab = build_vocabulary(
        np.array([0, 0, 1]), np.array([5, 5, 6]), 2, 1, min_buyers=1
    )
    x = bags(
        vocab,
        np.array([0, 0, 1]),
        np.array([5, 5, 6]),
        np.array([1, 1, 1]),
        np.array([0, 0, 0]),
        3,
    )
    dense = x.toarray()
    assert np.allclose(dense.sum(axis=1), [1, 1, 0])
    assert np.allclose(dense[0], [1 / 3, 0, 0, 1 / 3, 1 / 3])


def test_codes_separate_customers_by_what_they_buy_and_beat_the_average_bag():
    customer, product, category, group = two_tastes()
    vocab = build_vocabulary(customer, product, 3, 2)
    x = bags(vocab, customer, product, category, group, 120)
    config = EncoderConfig(dim=4, epochs=40, batch_size=32, learning_rate=1e-2)
    weights, bias, metrics = fit_encoder(x, config, seed=1)
    assert metrics["reconstruction_nll"] < metrics["average_bag_nll"]
    codes = encode(x, weights, bias)
    unit = codes / np.linalg.norm(codes, axis=1, keepdims=True)
    similarity = unit @ unit.T
    same = np.equal.outer(np.arange(120) % 2, np.arange(120) % 2)
    assert similarity[same].mean() > similarity[~same].mean() + 0.5
