"""The `recommender` model kind as the ML platform runs it: "for you" lists.

Until the sequence models land, the served model is category popularity, measured
against recent popularity with the leave-last-out protocol.
"""

from dataclasses import dataclass
from itertools import product as grid
from itertools import repeat

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
SCORING_BLOCK = 200  # customers scored at once: block × catalogue floats, kept small
# (under ~32 MB) so that the allocator reuses the arrays instead of faulting in new pages
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
        reason_of = self._reason_table(model)
        bought = self._bought_categories(model, history, len(keys))
        customer_ids = np.asarray(keys, dtype=np.int64)
        parts = []
        for start in range(0, len(users), SCORING_BLOCK):
            block = users[start : start + SCORING_BLOCK]
            scores = model.model.score(history, block)
            ranked = top_k(scores, TOP_N, seen.mask(block) if seen else None)
            picked = np.take_along_axis(scores, ranked, axis=1)
            keep = np.isfinite(picked)
            row = np.broadcast_to(
                (start + np.arange(len(block)))[:, None], ranked.shape
            )
            rank = np.broadcast_to(np.arange(1, ranked.shape[1] + 1), ranked.shape)
            reason = np.full(ranked.shape, len(reason_of) - 1)
            if bought is not None:
                category = model.model.item_category[ranked]
                named = reason_of[category] != None  # noqa: E711 (object array)
                reason = np.where(named & bought[row, category], category, reason)
            parts.append(
                (
                    customer_ids[row[keep]],
                    rank[keep],
                    model.product_ids[ranked[keep]],
                    picked[keep].astype(np.float64),
                    reason[keep],
                )
            )
        Recommendation.objects.filter(batch_id=batch_id, customer_id__in=keys).delete()
        if not parts:
            return 0
        customers, ranks, products, scores, reasons = (
            np.concatenate(column) for column in zip(*parts, strict=True)
        )
        return bulk_insert(
            Recommendation,
            ["batch", "customer", "rank", "product", "score", "reason"],
            zip(
                repeat(batch_id),
                customers.tolist(),
                ranks.tolist(),
                products.tolist(),
                scores.tolist(),
                reason_of[reasons].tolist(),
                strict=False,
            ),
        )

    def _reason_table(self, model: ServedModel) -> np.ndarray:
        """Return the reason per category index (None: unnamed), then the default."""
        reasons: list[str | None] = []
        if isinstance(model.model, CategoryPopularity):
            names = dict(Category.objects.values_list("pk", "name"))
            for pk in model.category_ids.tolist():
                name = names.get(int(pk))
                reasons.append(f"Popular in {name}, where you shop" if name else None)
        table = np.empty(len(reasons) + 1, dtype=object)
        table[:-1] = reasons
        table[-1] = "Popular right now"
        return table

    def _history(self, model: ServedModel, keys: list[int]):
        frame = purchase_frame(customer_ids=keys)
        data = frame.interactions
        item = _positions(frame.product_ids[data.item], model.product_ids)
        user = _positions(frame.customer_ids[data.user], np.asarray(keys, np.int64))
        known = item >= 0
        history = Interactions(
            user[known], item[known], data.day[known], len(keys), len(model.product_ids)
        )
        return history, np.arange(len(keys))

    def _bought_categories(self, model, history: Interactions, n_users: int):
        """Return (n_users, n_categories) booleans: bought in that category, or None."""
        if not isinstance(model.model, CategoryPopularity):
            return None
        bought = np.zeros((n_users, model.model.n_categories), dtype=bool)
        bought[history.user, model.model.item_category[history.item]] = True
        return bought

    def delete_batch_rows(self, batch_ids: list[int]) -> None:
        if batch_ids:
            Recommendation.objects.filter(batch_id__in=batch_ids)._raw_delete(
                Recommendation.objects.db
            )


def _positions(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Return the index of each value in `table` (unique values), or -1 if absent."""
    values = np.asarray(values, dtype=np.int64)
    if len(table) == 0:
        return np.full(len(values), -1, dtype=np.int64)
    order = np.argsort(table, kind="stable")
    ordered = np.asarray(table, dtype=np.int64)[order]
    where = np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)
    return np.where(ordered[where] == values, order[where], -1).astype(np.int64)
