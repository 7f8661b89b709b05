"""The evaluation on a ratings-style file: many lines a customer a day, real tastes.

Holding out one purchase with a history that ended a day before it cut most of such
a file's history, and every personalised model looked worse than a best-seller list.
"""

import numpy as np
import pytest

from orders.importers import import_orders
from recommender.ml.als import ALS
from recommender.ml.neighbours import EASE, ItemKNN
from recommender.ml.popularity import RecentPopularity
from recommender.mlkind import measure_on_baskets
from recommender.training_data import leave_last_basket_out, training_frame
from tests.recommender.ratings_style import (
    RatingsStyle,
    ratings_style_lines,
    write_orders,
)

pytestmark = pytest.mark.django_db

TINY = RatingsStyle(customers=120, items=150, lines=4000, tastes=6, seed=3)


@pytest.fixture
def ratings_style_shop(tmp_path):
    path = tmp_path / "orders.csv"
    write_orders(path, ratings_style_lines(TINY))
    import_orders(path, file_format="generic")
    return training_frame()


def test_protocol_keeps_the_history_and_personal_models_beat_popularity(
    ratings_style_shop,
):
    frame = ratings_style_shop
    split = leave_last_basket_out(frame)
    summary = split.summary

    assert summary["basket"] == "day"  # one order id a line: a day is the basket
    assert summary["history_lines_kept"] >= 0.95 * summary["history_lines"]
    assert summary["test_customers"] + summary["cold_start_customers"] == 120
    assert summary["mean_test_basket"] > 5  # many lines in the last day
    repeatable = np.zeros(frame.interactions.n_items, bool)
    history = split.train_plus_validation

    def ndcg(model):
        fitted = model.fit(history)
        return measure_on_baskets(fitted, history, split.test, repeatable)["ndcg@10"]

    popularity = ndcg(RecentPopularity(half_life_days=30.0))
    for personal in (
        EASE(l2=50.0),
        ItemKNN(),
        ALS(factors=8, regularization=10.0, threads=1),
    ):
        assert ndcg(personal) > 1.1 * popularity, personal.algorithm
