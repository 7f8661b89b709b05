"""Every "for you" model by algorithm name, and loading one back from its artifact."""

import io

import numpy as np

from .als import ALS
from .buy_again import BuyAgain
from .category_chain import CategoryChain
from .neighbours import EASE, ItemKNN, RecentEASE
from .popularity import CategoryPopularity, RecentPopularity
from .sasrec import SASRec

MODELS = {
    m.algorithm: m
    for m in (
        RecentPopularity,
        CategoryPopularity,
        ItemKNN,
        EASE,
        SASRec,
        CategoryChain,
        ALS,
        BuyAgain,
        RecentEASE,
    )
}


def load_model(artifact: bytes):
    """Return (model, all arrays) stored in `artifact` by the model's `to_bytes`."""
    with np.load(io.BytesIO(artifact), allow_pickle=False) as arrays:
        data = {key: arrays[key] for key in arrays.files}
    return MODELS[str(data["algorithm"])].from_arrays(data), data
