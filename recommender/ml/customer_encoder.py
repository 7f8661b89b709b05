"""Learned customer representations: a denoising autoencoder over what customers bought.

Each customer is a bag of purchases over a vocabulary of the most bought products, the
categories and the top-level groups (every purchase counts in its category and group,
so that rare products and short histories still carry signal), log-scaled and
normalised to sum to 1. The encoder (dropout on the input, then a tanh
layer of `dim` units) is trained with the decoder's softmax to reconstruct the bag: the
multinomial likelihood of Mult-DAE (Liang et al., 2018). Customers who buy alike get
nearby codes, which the behaviour clusters then group. Serving needs only the encoder's
weights: `encode` is plain NumPy.
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse

DEFAULT_DIM = 32
DEFAULT_MAX_PRODUCTS = 2000
MIN_PRODUCT_BUYERS = 3


@dataclass(frozen=True)
class EncoderConfig:
    dim: int = DEFAULT_DIM
    dropout: float = 0.5
    epochs: int = 30
    batch_size: int = 256
    learning_rate: float = 3e-3
    patience: int = 3


@dataclass(frozen=True)
class Vocabulary:
    """Input columns: one per frequent product, per category and per top-level group.

    Every purchase counts in its category's and its group's column, and in its
    product's column where the product has one, so that sparse histories still say
    which parts of the catalogue a customer buys from.
    """

    products: np.ndarray  # product pks with a column of their own, sorted
    n_categories: int
    n_groups: int

    @property
    def width(self) -> int:
        return len(self.products) + self.n_categories + self.n_groups

    def columns(
        self, product: np.ndarray, category: np.ndarray, group: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (purchase index, column) pairs for every column a purchase counts in.

        `category` and `group` are indices into the vocabulary's categories and
        groups; -1 (one unknown when the encoder was trained) counts nowhere.
        """
        n = len(product)
        own = np.minimum(
            np.searchsorted(self.products, product), max(len(self.products) - 1, 0)
        )
        has_own = (
            self.products[own] == product if len(self.products) else np.zeros(n, bool)
        )
        first_category = len(self.products)
        first_group = first_category + self.n_categories
        known_category, known_group = category >= 0, group >= 0
        index = np.concatenate(
            [
                np.flatnonzero(has_own),
                np.flatnonzero(known_category),
                np.flatnonzero(known_group),
            ]
        )
        column = np.concatenate(
            [
                own[has_own],
                first_category + category[known_category],
                first_group + group[known_group],
            ]
        )
        return index, column


def build_vocabulary(
    customer: np.ndarray,
    product: np.ndarray,
    n_categories: int,
    n_groups: int,
    *,
    max_products: int = DEFAULT_MAX_PRODUCTS,
    min_buyers: int = MIN_PRODUCT_BUYERS,
) -> Vocabulary:
    """Give a column to each of the `max_products` products with the most buyers."""
    pairs = np.unique(np.column_stack([product, customer]), axis=0)
    ids, buyers = np.unique(pairs[:, 0], return_counts=True)
    keep = buyers >= min_buyers
    ids, buyers = ids[keep], buyers[keep]
    top = ids[np.argsort(-buyers, kind="stable")[:max_products]]
    return Vocabulary(np.sort(top), n_categories, n_groups)


def bags(
    vocabulary: Vocabulary,
    customer: np.ndarray,
    product: np.ndarray,
    category: np.ndarray,
    group: np.ndarray,
    n_customers: int,
    weight: np.ndarray | None = None,
) -> sparse.csr_matrix:
    """Return each customer's interactions as a normalised log-count row (CSR).

    `weight` counts each interaction as less than a purchase (e.g. a view as 0.1).
    """
    index, column = vocabulary.columns(product, category, group)
    values = np.ones(len(index), np.float32) if weight is None else weight[index]
    counts = sparse.csr_matrix(
        (values.astype(np.float32), (customer[index], column)),
        shape=(n_customers, vocabulary.width),
    )
    counts.sum_duplicates()
    counts.data = np.log1p(counts.data)
    totals = np.asarray(counts.sum(axis=1)).ravel()
    scale = np.where(totals > 0, 1.0 / np.maximum(totals, 1e-12), 0.0)
    return sparse.csr_matrix(sparse.diags(scale.astype(np.float32)) @ counts)


def encode(x: sparse.csr_matrix, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Return the customers' codes: tanh(x W + b), one row per customer."""
    return np.tanh(np.asarray(x @ weights) + bias).astype(np.float32)


def fit_encoder(
    x: sparse.csr_matrix,
    config: EncoderConfig | None = None,
    *,
    seed: int = 0,
    validation_share: float = 0.1,
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Train the autoencoder on the rows of `x` with purchases.

    Return the encoder's weights and bias and the held-out reconstruction loss
    (multinomial negative log-likelihood per customer) next to that of a model
    that predicts the average bag, the baseline it must beat to carry signal.
    """
    import keras

    from .sparse_batches import SparseRows

    config = config or EncoderConfig()
    keras.utils.set_random_seed(seed)
    rows = np.flatnonzero(np.diff(x.indptr) > 0)
    rng = np.random.default_rng(seed)
    rng.shuffle(rows)
    n_val = max(1, int(len(rows) * validation_share)) if len(rows) > 10 else 0
    val_rows, fit_rows = rows[:n_val], rows[n_val:]
    width = x.shape[1]

    inputs = keras.Input(shape=(width,))
    hidden = keras.layers.Dropout(config.dropout)(inputs)
    code = keras.layers.Dense(config.dim, activation="tanh", name="encoder")(hidden)
    logits = keras.layers.Dense(width, name="decoder")(code)
    model = keras.Model(inputs, logits)

    def multinomial_nll(y_true, y_pred):
        log_p = keras.ops.log_softmax(y_pred, axis=-1)
        return -keras.ops.sum(y_true * log_p, axis=-1)

    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate), loss=multinomial_nll
    )
    fit_data = SparseRows(x, fit_rows, config.batch_size, shuffle=True, seed=seed)
    val_data = SparseRows(x, val_rows, config.batch_size) if n_val else None
    callbacks = (
        [
            keras.callbacks.EarlyStopping(
                patience=config.patience, restore_best_weights=True
            )
        ]
        if val_data
        else []
    )
    model.fit(
        fit_data,
        validation_data=val_data,
        epochs=config.epochs,
        callbacks=callbacks,
        verbose=0,
    )
    weights, bias = model.get_layer("encoder").get_weights()
    metrics = {}
    if n_val:
        held = x[val_rows]
        predicted = model.predict(SparseRows(x, val_rows, config.batch_size), verbose=0)
        metrics["reconstruction_nll"] = _nll(held, _log_softmax(predicted))
        mean_bag = np.asarray(x[fit_rows].mean(axis=0)).ravel() + 1e-9
        metrics["average_bag_nll"] = _nll(
            held, np.log(mean_bag / mean_bag.sum())[None, :]
        )
    return weights.astype(np.float32), bias.astype(np.float32), metrics


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _nll(x: sparse.csr_matrix, log_p: np.ndarray) -> float:
    dense = x.toarray()
    return float(-(dense * log_p).sum(axis=1).mean())
