"""The `recommender` model kind as the ML platform runs it: "for you" lists.

Until the sequence models land, the served model is category popularity, measured
against recent popularity with the leave-last-out protocol.
"""

from dataclasses import dataclass
from itertools import product as grid

import numpy as np
from django.conf import settings

from catalog.models import Category
from mlops.bulk import bulk_insert
from mlops.kinds import Candidate, RunRefused, TrainContext, TrainingOutcome
from mlops.ml.progress import ProgressTracker
from mlops.ml.ranking_metrics import top_k

from .ml.popularity import CategoryPopularity, RecentPopularity, load_model
from .ml.protocol import Interactions, SeenItems, evaluate, leave_last_out
from .models import Recommendation
from .selectors import customers_to_score, purchase_frame

TOP_N = 20
SCORING_BLOCK = 1000  # customers scored at once: bounds memory to ~block × catalogue
MIN_TEST_CUSTOMERS = 5
DEFAULT_HALF_LIVES = [7.0, 30.0, 90.0]
DEFAULT_GLOBAL_WEIGHTS = [0.05, 0.2, 0.5]


@dataclass
class ServedModel:
    """A loaded model with the catalogue ids it was trained on."""

    model: CategoryPopularity | RecentPopularity
    product_ids: np.ndarray
    category_ids: np.ndarray


class RecommenderKind:
    kind = "recommender"
    primary_metric = "ndcg@10"
    higher_is_better = True

    # --- training ---------------------------------------------------------------
    def train(self, context: TrainContext) -> TrainingOutcome:
        frame = purchase_frame()
        split = leave_last_out(frame.interactions)
        if len(split.test_users) < MIN_TEST_CUSTOMERS:
            raise RunRefused(
                f"Not enough purchase history: {len(split.test_users)} customers have "
                f"3 or more purchases; at least {MIN_TEST_CUSTOMERS} are needed."
            )
        repeat = settings.SHOP_REPEAT_PURCHASE
        half_lives = [
            float(h) for h in context.options.get("half_lives", DEFAULT_HALF_LIVES)
        ]
        weights = [
            float(w)
            for w in context.options.get("global_weights", DEFAULT_GLOBAL_WEIGHTS)
        ]
        configs = list(grid(half_lives, weights))
        tracker = ProgressTracker(context.progress, len(configs) + len(half_lives) + 2)
        context.log(
            f"{frame.interactions.n_users} customers, {len(frame.interactions.user)} "
            f"purchases, {len(split.test_users)} in the test split; "
            f"tuning {len(configs)} configurations"
        )

        def make_category(half_life, weight):
            return CategoryPopularity(
                item_category=frame.product_category,
                n_categories=len(frame.category_ids),
                half_life_days=half_life,
                global_weight=weight,
            )

        def validate(model):
            model.fit(split.train)
            return evaluate(
                model.score,
                split.train,
                split.validation_users,
                split.validation_items,
                repeat_purchase=repeat,
            )

        step = 0
        best_cfg, best_val = None, None
        for half_life, weight in configs:
            metrics = validate(make_category(half_life, weight))
            if (
                best_val is None
                or metrics[self.primary_metric] > best_val[self.primary_metric]
            ):
                best_cfg, best_val = (half_life, weight), metrics
            step += 1
            tracker.update(step, f"tuned half-life {half_life:g}, weight {weight:g}")
        best_pop, best_pop_val = None, None
        for half_life in half_lives:
            metrics = validate(RecentPopularity(half_life))
            if (
                best_pop_val is None
                or metrics[self.primary_metric] > best_pop_val[self.primary_metric]
            ):
                best_pop, best_pop_val = half_life, metrics
            step += 1
            tracker.update(step, f"tuned baseline half-life {half_life:g}")

        def test_and_refit(model, hyperparameters):
            model.fit(split.train_plus_validation)
            metrics = evaluate(
                model.score,
                split.train_plus_validation,
                split.test_users,
                split.test_items,
                repeat_purchase=repeat,
            )
            model.fit(frame.interactions)  # serve what all the data says
            artifact = model.to_bytes(
                product_ids=frame.product_ids, category_ids=frame.category_ids
            )
            return Candidate(model.algorithm, metrics, artifact, "npz", hyperparameters)

        chosen = test_and_refit(
            make_category(*best_cfg),
            {"half_life_days": best_cfg[0], "global_weight": best_cfg[1]},
        )
        baseline = test_and_refit(
            RecentPopularity(best_pop), {"half_life_days": best_pop}
        )
        tracker.update(step + 1, "measured on the test split", force=True)

        champion_metrics = None
        if context.champion is not None:
            champion_metrics = self._remeasure(context.champion, frame, split, repeat)
        tracker.update(step + 2, "done", force=True)
        return TrainingOutcome(
            model=chosen,
            baselines={"popularity": baseline},
            protocol={
                "name": "leave-last-out",
                "min_interactions": 3,
                "test_customers": int(len(split.test_users)),
                "ranking": "full catalogue",
                "exclude_history": not repeat,
                "tuned_on": "second-to-last purchase (validation)",
                "champion_remeasured": "champion's configuration refit on the same data",
            },
            data_fingerprint=frame.fingerprint(),
            champion_metrics=champion_metrics,
        )

    def _remeasure(self, champion, frame, split, repeat) -> dict:
        params = champion.hyperparameters
        if champion.algorithm == CategoryPopularity.algorithm:
            model = CategoryPopularity(
                item_category=frame.product_category,
                n_categories=len(frame.category_ids),
                half_life_days=params.get("half_life_days", 30.0),
                global_weight=params.get("global_weight", 0.2),
            )
        else:
            model = RecentPopularity(params.get("half_life_days", 30.0))
        model.fit(split.train_plus_validation)
        return evaluate(
            model.score,
            split.train_plus_validation,
            split.test_users,
            split.test_items,
            repeat_purchase=repeat,
        )

    # --- serving ----------------------------------------------------------------
    def load(self, algorithm: str, artifact: bytes) -> ServedModel:
        model, arrays = load_model(artifact)
        return ServedModel(model, arrays["product_ids"], arrays["category_ids"])

    def inference_keys(self) -> list[int]:
        return customers_to_score()

    def infer_chunk(self, *, model: ServedModel, keys: list[int], batch_id: int) -> int:
        """Write the top 20 for each customer in `keys`, replacing what the batch had."""
        history, users = self._history(model, keys)
        seen = None if settings.SHOP_REPEAT_PURCHASE else SeenItems(history)
        by_category = isinstance(model.model, CategoryPopularity)
        bought_categories = self._bought_categories(model, history, len(keys))
        names = dict(Category.objects.values_list("pk", "name"))
        rows = []
        for start in range(0, len(users), SCORING_BLOCK):
            block = users[start : start + SCORING_BLOCK]
            scores = model.model.score(history, block)
            ranked = top_k(scores, TOP_N, seen.mask(block) if seen else None)
            for offset, items in enumerate(ranked):
                row = start + offset
                for rank, item in enumerate(items.tolist(), start=1):
                    score = float(scores[offset, item])
                    if not np.isfinite(score):
                        continue
                    reason = "Popular right now"
                    if by_category:
                        category = int(model.model.item_category[item])
                        name = names.get(int(model.category_ids[category]))
                        if name and category in bought_categories[row]:
                            reason = f"Popular in {name}, where you shop"
                    product_id = int(model.product_ids[item])
                    rows.append((batch_id, keys[row], rank, product_id, score, reason))
        Recommendation.objects.filter(batch_id=batch_id, customer_id__in=keys).delete()
        return bulk_insert(
            Recommendation,
            ["batch", "customer", "rank", "product", "score", "reason"],
            rows,
        )

    def _history(self, model: ServedModel, keys: list[int]):
        frame = purchase_frame(customer_ids=keys)
        item_map = {int(p): i for i, p in enumerate(model.product_ids.tolist())}
        user_map = {int(c): i for i, c in enumerate(keys)}
        data = frame.interactions
        known = np.array(
            [int(frame.product_ids[i]) in item_map for i in data.item], dtype=bool
        )
        user = np.array(
            [user_map[int(frame.customer_ids[u])] for u in data.user[known]],
            dtype=np.int64,
        )
        item = np.array(
            [item_map[int(frame.product_ids[i])] for i in data.item[known]],
            dtype=np.int64,
        )
        history = Interactions(
            user, item, data.day[known], len(keys), len(model.product_ids)
        )
        return history, np.arange(len(keys))

    def _bought_categories(self, model, history: Interactions, n_users: int):
        bought: list[set[int]] = [set() for _ in range(n_users)]
        if isinstance(model.model, CategoryPopularity):
            for user, item in zip(
                history.user.tolist(), history.item.tolist(), strict=True
            ):
                bought[user].add(int(model.model.item_category[item]))
        return bought

    def delete_batch_rows(self, batch_ids: list[int]) -> None:
        if batch_ids:
            Recommendation.objects.filter(batch_id__in=batch_ids)._raw_delete(
                Recommendation.objects.db
            )
