"""Batch inference writes "for you" lists whichever model serves, popularity included."""

import numpy as np
import pytest
from django.contrib.auth import get_user_model

from recommender.ml.popularity import RecentPopularity
from recommender.ml.protocol import Interactions
from recommender.mlkind import RecommenderKind, ServedModel
from recommender.models import Recommendation
from tests.factories import ProductFactory
from tests.recommender.serving_support import served_batch

pytestmark = pytest.mark.django_db


def test_popularity_serves_newcomers_and_customers_alike():
    products = [ProductFactory(stock_tracked=False) for _ in range(5)]
    ids = np.array([p.pk for p in products], dtype=np.int64)
    bought = Interactions(
        np.array([0, 0, 0]), np.array([0, 0, 1]), np.array([0, 1, 2]), 1, 5, None
    )
    model = ServedModel(
        model=RecentPopularity().fit(bought),  # scores are a read-only broadcast view
        product_ids=ids,
        arrays={"popularity": np.array([0.5, 0.3, 0.1, 0.05, 0.05], np.float32)},
    )
    newcomer = get_user_model().objects.create_user("newcomer")
    batch = served_batch()

    written = RecommenderKind()._write_for_you(model, [newcomer.pk], batch.pk)

    assert written == 5
    served = Recommendation.objects.filter(batch=batch, customer=newcomer)
    assert list(served.values_list("product_id", flat=True)) == ids.tolist()
    assert set(served.values_list("reason", flat=True)) == {"Popular right now"}
