"""Keras batches of the rows of a sparse matrix, made dense one batch at a time."""

import keras
import numpy as np


class SparseRows(keras.utils.PyDataset):
    """Dense batches of chosen rows of a CSR matrix; the input is also the target."""

    def __init__(self, x, rows, batch_size: int, *, shuffle=False, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.x, self.rows, self.batch_size = x, np.array(rows), batch_size
        self.shuffle, self.rng = shuffle, np.random.default_rng(seed)

    def __len__(self) -> int:
        return max(1, -(-len(self.rows) // self.batch_size))

    def __getitem__(self, index: int):
        chosen = self.rows[index * self.batch_size : (index + 1) * self.batch_size]
        batch = self.x[chosen].toarray()
        return batch, batch

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.rng.shuffle(self.rows)
