"""The `recommender` model kind as the ML platform runs it.

Training fits two models, the category chain ("next category, then product", tuned on
the validation purchase) and a sequential self-attention model (SASRec), and measures
them against recent popularity, category popularity, item-kNN and EASE on the same
held-out purchases (leave-last-out). The better of the two models goes to the
registry's champion gate, which serves a baseline if one wins. Every candidate's
artifact also carries the product lists ("similar", from the SASRec item embeddings
with a category/price-band fallback for new products, and "bought together", from
baskets, completed by what the same customers bought where orders are small), so that
batch inference writes all three kinds of list from one model version.
"""

from dataclasses import dataclass, fields
from functools import partial
from itertools import product as grid

import numpy as np
from django.conf import settings

from catalog.models import Product
from catalog.selectors import image_embeddings_for
from mlops.bulk import Labels, bulk_insert, bulk_writer, pk_in
from mlops.kinds import Candidate, RunRefused, TrainContext, TrainingOutcome
from mlops.ml.progress import Progress, ProgressTracker

from .ml.als import ALS
from .ml.buy_again import BuyAgain, repeat_shares
from .ml.category_chain import CategoryChain
from .ml.copurchase import BoughtTogether, with_fallback
from .ml.explain import reason_items
from .ml.models import load_model
from .ml.neighbours import EASE, ItemKNN, RecentEASE
from .ml.popularity import CategoryPopularity, RecentPopularity
from .ml.protocol import (
    HeldOut,
    Interactions,
    SeenItems,
    evaluate,
    fast_top_k,
    index_of,
)
from .ml.sasrec import SASRec
from .ml.similar import similar_items
from .models import ProductRecommendation, Recommendation
from .selectors import BUY_AGAIN_REASON, customers_to_score, served_rows_filtered
from .training_data import (
    HISTORY_GAP_DAYS,
    PURCHASE_WEIGHT,
    leave_last_basket_out,
    training_frame,
)

TOP_N = 20
BUY_AGAIN = -2  # a reason code: the customer bought the product before
SCORING_BLOCK = 200  # customers scored at once: block × catalogue floats, kept small
REASON_HISTORY = 20  # the most recent purchases considered for "because you bought"
MIN_TEST_CUSTOMERS = 5
DEFAULT_HALF_LIVES = [7.0, 30.0, 90.0]
DEFAULT_GLOBAL_WEIGHTS = [0.05, 0.2, 0.5]
DEFAULT_EASE_L2 = [100.0, 500.0]
DEFAULT_KNN_SHRINK = [0.0, 10.0]
# EASE with recent items weighing more (a trained model): half-lives in days.
DEFAULT_RECENT_HALF_LIVES = [0.5, 3.0, 30.0]
DEFAULT_ALS_FACTORS = [32, 64]
DEFAULT_ALS_L2 = [1.0, 10.0]
ALS_THREADS = 2  # the workers share the machine
DEFAULT_BUY_AGAIN_NEW = [0.05, 0.5]
# Repeat purchases are the norm in a category where at least this share of purchase
# lines re-buy what the customer bought on an earlier day.
REPEAT_NORM = 0.2
MIN_CATEGORY_LINES = 50  # fewer: the category follows the whole shop
# SASRec's window covers this percentile of customers' history lengths.
SEQUENCE_PERCENTILE = 90
MIN_SEQUENCE, MAX_SEQUENCE = 10, 200
DEFAULT_SIDE_INFO = False  # SASRec items carry their category's embedding too
# SASRec's training stops before an epoch that would end past this (best epoch kept):
# a run at 100,000 customers × 2 million interactions stays within 10 minutes.
DEFAULT_SASREC_TIME_BUDGET_S = 240.0
# Configurations are compared on at most this many customers' validation purchase (a
# seeded sample); the test figures are always on every test customer.
TUNING_CUSTOMERS = 20_000
# The category chain ("next category, then product"), a candidate next to SASRec.
DEFAULT_CHAIN_HALF_LIVES = [30.0, 90.0]
DEFAULT_CHAIN_BROWSE_WEIGHTS = [1.0, 3.0]
DEFAULT_CHAIN_L2 = [0.3, 3.0]
SASREC_OPTIONS = (
    "dim",
    "blocks",
    "heads",
    "max_len",
    "dropout",
    "learning_rate",
    "weight_decay",
    "epochs",
    "batch_size",
    "patience",
    "time_budget_s",
)


def _together_reason(sources: np.ndarray, score: float, entry: int) -> str:
    """Why a product is in a "bought together" list: same orders, or same customers."""
    if sources[entry] == 0:
        return f"In {score:.0%} of the orders with this product"
    return f"Bought by {score:.0%} of this product's customers"


def purchases_of(history: Interactions) -> Interactions:
    """Return only the purchases of an interaction history (browsing weighs less)."""
    if history.weight is None:
        return history
    return history.take(history.weight >= PURCHASE_WEIGHT)


def without_purchased(score, repeatable: np.ndarray):
    """Wrap a scorer so that what a customer already bought is never ranked, except
    the `repeatable` items (bool per item)."""

    bought = {}  # the last history's purchases, kept across its blocks of users

    def masked(history: Interactions, users: np.ndarray) -> np.ndarray:
        if bought.get("history") is not history:
            bought.update(history=history, seen=SeenItems(purchases_of(history)))
        scores = np.array(score(history, users), dtype=np.float64, copy=True)
        scores[bought["seen"].mask(users) & ~repeatable] = -np.inf
        return scores

    return masked


def measure_on_baskets(
    model, history: Interactions, held: HeldOut, repeatable: np.ndarray
) -> dict:
    """Measure a fitted model on held-out baskets as it serves: what a customer
    bought is neither ranked nor a target, except the `repeatable` items."""
    score = without_purchased(model.score, repeatable)
    held = held.drop_targets(
        _bought_before(held, purchases_of(history)) & ~repeatable[held.items]
    )
    return evaluate(score, history, held, repeat_purchase=True)


def _bought_before(held: HeldOut, bought: Interactions) -> np.ndarray:
    """Return, per target of `held`, whether its customer bought it in `bought`."""
    position, row = bought.rows_of(held.users)
    seen = np.unique(position * bought.n_items + bought.item[row])
    return np.isin(held.owner * bought.n_items + held.items, seen)


@dataclass(frozen=True)
class RepeatPolicy:
    """Which products a customer may be shown again after buying them, and why."""

    items: np.ndarray  # bool per item
    setting: bool | None  # the shop's setting; None: decided from the data
    share: float  # of purchase lines that re-buy an item bought on an earlier day
    categories: int  # where repeats are the norm

    @property
    def description(self) -> str:
        if self.setting is not None:
            return f"{'allowed' if self.setting else 'left out'} (shop setting)"
        return (
            f"automatic: {self.share:.0%} of purchase lines re-buy; allowed in "
            f"{self.categories} categories ({int(self.items.sum())} products)"
        )

    def report(self) -> dict:
        return {
            "used": "shop setting" if self.setting is not None else "automatic",
            "repeat_share": round(self.share, 4),
            "categories_allowed": self.categories,
            "products_allowed": int(self.items.sum()),
            "description": self.description,
        }


def repeat_policy(
    setting: bool | None,
    purchases: Interactions,
    item_category: np.ndarray,
    n_categories: int,
) -> RepeatPolicy:
    """Repeats are allowed in the categories where at least `REPEAT_NORM` of the
    purchase lines re-buy (categories with few lines follow the whole shop), unless
    the shop's setting says all or none."""
    share, by_category, lines = repeat_shares(purchases, item_category, n_categories)
    if setting is not None:
        items = np.full(purchases.n_items, bool(setting))
        return RepeatPolicy(items, bool(setting), share, n_categories * bool(setting))
    shop_norm = share >= REPEAT_NORM
    allowed = np.where(
        lines >= MIN_CATEGORY_LINES, by_category >= REPEAT_NORM, shop_norm
    )
    used = lines > 0
    return RepeatPolicy(
        allowed[item_category], None, share, int((allowed & used).sum())
    )


def sequence_length(history: Interactions) -> int:
    """SASRec's window: the `SEQUENCE_PERCENTILE` of customers' history lengths."""
    lengths = np.bincount(history.user)
    lengths = lengths[lengths > 0]
    if len(lengths) == 0:
        return MIN_SEQUENCE
    value = int(np.ceil(np.percentile(lengths, SEQUENCE_PERCENTILE)))
    return int(np.clip(value, MIN_SEQUENCE, MAX_SEQUENCE))


@dataclass
class ServedModel:
    """A loaded "for you" model with the catalogue and product lists of its artifact."""

    model: object
    product_ids: np.ndarray
    arrays: dict


class RecommenderKind:
    kind = "recommender"
    primary_metric = "ndcg@10"
    higher_is_better = True

    # --- training ---------------------------------------------------------------
    def train(self, context: TrainContext) -> TrainingOutcome:
        options = context.options
        frame = training_frame()
        split = leave_last_basket_out(
            frame,
            gap_days=float(options.get("history_gap_days", HISTORY_GAP_DAYS)),
            by=options.get("basket", "auto"),
        )
        if len(split.test_users) < MIN_TEST_CUSTOMERS:
            raise RunRefused(
                f"Not enough purchase history: {len(split.test_users)} customers have "
                "a basket with history before it; at least "
                f"{MIN_TEST_CUSTOMERS} are needed."
            )
        data = frame.interactions
        repeat = repeat_policy(
            options.get("repeat_purchase", settings.SHOP_REPEAT_PURCHASE),
            frame.purchases(),
            frame.product_category,
            len(frame.category_ids),
        )
        repeatable = repeat.items
        context.log(
            f"{data.n_users} customers, {int(frame.is_purchase.sum())} purchases and "
            f"{int((~frame.is_purchase).sum())} views/cart adds; "
            f"{len(split.test_users)} customers in the test split, "
            f"{len(split.cold_start)} cold start; {split.summary['basket']} baskets; "
            f"{split.summary['history_removed_share']:.1%} of the history lines cut; "
            f"repeat purchases: {repeat.description}"
        )

        measure = partial(measure_on_baskets, repeatable=repeatable)

        sampled = _sample(
            len(split.validation),
            int(options.get("tuning_customers", TUNING_CUSTOMERS)),
            context.seed,
        )
        validation = split.validation.subset(sampled)

        def on_validation(model):
            return measure(model.fit(split.train), split.train, validation)

        def on_test(model):
            return measure(model, split.train_plus_validation, split.test)

        extra = self._catalogue_extras(frame, repeatable)
        tuning = [
            (
                "popularity",
                lambda h: RecentPopularity(h),
                [(h,) for h in options.get("half_lives", DEFAULT_HALF_LIVES)],
                ("half_life_days",),
            ),
            (
                "category-popularity",
                lambda h, w: CategoryPopularity(
                    item_category=frame.product_category,
                    n_categories=len(frame.category_ids),
                    half_life_days=h,
                    global_weight=w,
                ),
                list(
                    grid(
                        options.get("half_lives", DEFAULT_HALF_LIVES),
                        options.get("global_weights", DEFAULT_GLOBAL_WEIGHTS),
                    )
                ),
                ("half_life_days", "global_weight"),
            ),
            (
                "item-knn",
                lambda s: ItemKNN(shrink=s),
                [(s,) for s in options.get("knn_shrink", DEFAULT_KNN_SHRINK)],
                ("shrink",),
            ),
            (
                "ease",
                lambda l2: EASE(l2=l2),
                [(l2,) for l2 in options.get("ease_l2", DEFAULT_EASE_L2)],
                ("l2",),
            ),
            (
                "als",
                lambda f, r: ALS(
                    factors=int(f),
                    regularization=r,
                    threads=ALS_THREADS,
                    seed=context.seed,
                ),
                list(
                    grid(
                        options.get("als_factors", DEFAULT_ALS_FACTORS),
                        options.get("als_regularization", DEFAULT_ALS_L2),
                    )
                ),
                ("factors", "regularization"),
            ),
        ]
        if repeatable.any():  # a trained model where customers re-buy
            tuning.append(
                (
                    "buy-again",
                    lambda h, w: BuyAgain(
                        half_life_days=h,
                        new_weight=w,
                        item_category=frame.product_category,
                        n_categories=len(frame.category_ids),
                    ),
                    list(
                        grid(
                            options.get("half_lives", DEFAULT_HALF_LIVES),
                            options.get("buy_again_new", DEFAULT_BUY_AGAIN_NEW),
                        )
                    ),
                    ("half_life_days", "new_weight"),
                )
            )
        # Without views or cart adds, every browse weight fits the same chain.
        browse_weights = (
            options.get("chain_browse_weights", DEFAULT_CHAIN_BROWSE_WEIGHTS)
            if not frame.is_purchase.all()
            else [1.0]
        )
        if options.get("category_chain", True):
            tuning.append(
                (
                    "category-chain",
                    lambda h, b, l2: CategoryChain(
                        item_category=frame.product_category,
                        n_categories=len(frame.category_ids),
                        half_life_days=h,
                        browse_weight=b,
                        l2=l2,
                        seed=context.seed,
                    ),
                    list(
                        grid(
                            options.get("chain_half_lives", DEFAULT_CHAIN_HALF_LIVES),
                            browse_weights,
                            options.get("chain_l2", DEFAULT_CHAIN_L2),
                        )
                    ),
                    ("half_life_days", "browse_weight", "l2"),
                )
            )
        steps = sum(len(configs) for _, _, configs, _ in tuning) + len(tuning)
        tracker = ProgressTracker(_scaled(context.progress, 0, 40), steps)
        step = 0
        fitted = {}
        for name, make, configs, names in tuning:
            best_config, best = None, None
            for config in configs:
                metrics = on_validation(make(*config))
                if (
                    best is None
                    or metrics[self.primary_metric] > best[self.primary_metric]
                ):
                    best_config, best = config, metrics
                step += 1
                tracker.update(step, f"tuned {name} {config}")
            model = make(*best_config).fit(split.train_plus_validation)
            metrics = on_test(model)
            model.fit(data)  # served: what all the data says
            hyperparameters = dict(zip(names, map(float, best_config), strict=True))
            fitted[name] = (model, metrics, hyperparameters)
            step += 1
            tracker.update(
                step,
                f"{name}: {self.primary_metric} {metrics[self.primary_metric]:.4f}",
                force=True,
            )

        # Trained models, not baselines, though tuned on validation like them.
        chain = fitted.pop("category-chain", None)
        buy_again = fitted.pop("buy-again", None)
        recent = self._fit_recent_ease(
            fitted["ease"][2]["l2"],
            options.get("recent_half_lives", DEFAULT_RECENT_HALF_LIVES),
            split,
            data,
            on_validation=lambda model: measure(model, split.train, validation),
            on_test=on_test,
        )
        context.log(
            f"ease-recent: {self.primary_metric} {recent[1][self.primary_metric]:.4f}"
        )
        sasrec_options = {
            "time_budget_s": DEFAULT_SASREC_TIME_BUDGET_S,
            "max_len": sequence_length(split.train_plus_validation),
        } | {k: options[k] for k in SASREC_OPTIONS if k in options}
        if options.get("sasrec_side_info", DEFAULT_SIDE_INFO):
            sasrec_options |= {
                "n_categories": len(frame.category_ids),
                "item_category": frame.product_category,
            }
        sasrec = SASRec(seed=context.seed, **sasrec_options)
        sasrec.fit(
            split.train_plus_validation, progress=_scaled(context.progress, 40, 90)
        )
        sasrec_metrics = on_test(sasrec)
        fit = sasrec.fit_result
        context.log(
            f"sasrec: {self.primary_metric} {sasrec_metrics[self.primary_metric]:.4f}"
            f" after {fit.epochs_run if fit else 0} epochs"
            + (" (time budget spent)" if fit and fit.budget_spent else "")
        )
        extra |= self._product_lists(frame, sasrec)
        trained = {
            sasrec.algorithm: Candidate(
                sasrec.algorithm,
                sasrec_metrics,
                sasrec.to_bytes(**extra),
                "npz",
                {k: getattr(sasrec, k) for k in SASREC_OPTIONS},
            )
        }
        # Every candidate carries the same product lists, whichever of them serves.
        baselines = {
            name: Candidate(
                model.algorithm,
                metrics,
                model.to_bytes(**extra),
                "npz",
                hyperparameters,
            )
            for name, (model, metrics, hyperparameters) in fitted.items()
        }
        for other in (chain, buy_again, recent):
            if other is None:
                continue
            other_model, other_metrics, other_hyperparameters = other
            trained[other_model.algorithm] = Candidate(
                other_model.algorithm,
                other_metrics,
                other_model.to_bytes(**extra),
                "npz",
                other_hyperparameters,
            )
        # Trained models (never baselines): the best on the held-out baskets goes to
        # the champion gate; the report keeps every figure.
        model = max(trained.values(), key=lambda c: c.metrics[self.primary_metric])
        for name, candidate in trained.items():
            context.log(
                f"trained {name}: {self.primary_metric} "
                f"{candidate.metrics[self.primary_metric]:.4f}"
            )
        champion_metrics = None
        if context.champion is not None:
            champion_metrics = self._remeasure(context.champion, frame, split, on_test)
        context.progress(Progress(1, 1, 100.0, 0.0, "measured"))
        return TrainingOutcome(
            model=model,
            baselines=baselines,
            protocol={
                "name": "leave-last-basket-out",
                **split.summary,
                "metrics": "every item of the held-out basket is a target; "
                "ndcg@10 over the best order of min(basket, 10) hits, recall@20 "
                "over min(basket, 20)",
                "ranking": "full catalogue",
                "exclude_history": "products bought before, except where repeat "
                "purchases are the norm (then they are targets too)",
                "repeat_purchase": repeat.report(),
                "cold_start": {
                    "policy": "overall popularity",
                    **self._cold_start_metrics(split),
                },
                "interactions": "purchases (weight 1), cart adds (0.3), views (0.1)",
                "tuned_on": "validation purchase",
                "tuning_customers": int(len(sampled)),
                "trained_models": {
                    name: candidate.metrics for name, candidate in trained.items()
                },
                "champion_remeasured": "stored SASRec weights, or the champion's "
                "configuration refit on the same data",
            },
            data_fingerprint=frame.fingerprint(),
            champion_metrics=champion_metrics,
        )

    def _fit_recent_ease(
        self, l2, half_lives, split, data, *, on_validation, on_test
    ) -> tuple:
        """EASE with recency-weighted input: the half-life tuned on validation with
        one fit of the weights; then refit for test and for serving."""
        base = RecentEASE(l2=l2).fit(split.train)
        scored = [
            (on_validation(base.with_half_life(h))[self.primary_metric], h)
            for h in half_lives
        ]
        best = max(scored)[1]
        model = RecentEASE(l2=l2, half_life_days=best).fit(split.train_plus_validation)
        metrics = on_test(model)
        model = RecentEASE(l2=l2, half_life_days=best).fit(data)  # served
        return model, metrics, {"l2": float(l2), "half_life_days": float(best)}

    def _catalogue_extras(self, frame, repeatable: np.ndarray) -> dict:
        return {
            "product_ids": frame.product_ids,
            "category_ids": frame.category_ids,
            "repeatable": repeatable,
        }

    def _cold_start_metrics(self, split) -> dict:
        """What customers without history get (overall popularity), on their baskets."""
        history = split.train_plus_validation
        counts = np.bincount(history.item, minlength=history.n_items).astype(float)

        def popular(history, users):
            return np.broadcast_to(counts, (len(users), len(counts)))

        metrics = evaluate(popular, history, split.cold_start, repeat_purchase=True)
        return {"customers": len(split.cold_start), **metrics}

    def _product_lists(self, frame, sasrec: SASRec) -> dict:
        purchases = frame.purchases()
        counts = np.bincount(
            frame.interactions.item, minlength=frame.interactions.n_items
        )
        # New products enter similar lists through their pictures, where the image
        # model has read them.
        pictures = image_embeddings_for(frame.product_ids)
        similar, similar_score = similar_items(
            sasrec.item_embeddings(),
            TOP_N,
            frame.product_category,
            _price_bands(frame),
            known=counts > 0,
            popularity=counts,
            image_embeddings=pictures,
        )
        by_order = BoughtTogether(k=TOP_N).fit(
            frame.basket[frame.is_purchase], purchases.item, purchases.n_items
        )
        by_customer = BoughtTogether(k=TOP_N).fit(
            purchases.user, purchases.item, purchases.n_items
        )
        together, together_score, together_source = with_fallback(
            by_order, by_customer, TOP_N
        )
        return {
            "popularity": (counts / max(counts.sum(), 1)).astype(np.float32),
            "similar": similar,
            "similar_score": similar_score,
            "similar_known": counts > 0,
            "similar_by_picture": np.abs(pictures).sum(axis=1) > 0,
            "together": together,
            "together_score": together_score,
            "together_source": together_source,
        }

    def _remeasure(self, champion, frame, split, on_test) -> dict:
        model, _ = load_model(champion.artifact)
        if isinstance(model, SASRec):
            return on_test(model)  # trained without each customer's last purchase
        if isinstance(model, (CategoryPopularity, CategoryChain, BuyAgain)):
            model.item_category = frame.product_category
            model.n_categories = len(frame.category_ids)
        fresh = type(model)(**_constructor_args(model))
        return on_test(fresh.fit(split.train_plus_validation))

    # --- serving ----------------------------------------------------------------
    def load(self, algorithm: str, artifact: bytes) -> ServedModel:
        model, arrays = load_model(artifact)
        return ServedModel(model, arrays["product_ids"], arrays)

    def inference_keys(self) -> list:
        customers = [["c", pk] for pk in customers_to_score()]
        products = Product.objects.filter(is_active=True).order_by("pk")
        return customers + [["p", pk] for pk in products.values_list("pk", flat=True)]

    def infer_chunk(self, *, model: ServedModel, keys: list, batch_id: int) -> int:
        """Write the lists of the customers and products in `keys` for the batch."""
        customers = [pk for group, pk in keys if group == "c"]
        products = [pk for group, pk in keys if group == "p"]
        written = 0
        if customers:
            written += self._write_for_you(model, customers, batch_id)
        if products:
            written += self._write_product_lists(model, products, batch_id)
        return written

    def _write_for_you(self, model: ServedModel, keys: list[int], batch_id: int) -> int:
        history = self._history(model, keys)
        bought = purchases_of(history)
        seen = SeenItems(bought)
        repeatable = _repeatable(model)
        explainer = _explainer(model.model)
        recent = _recent_items(bought, len(keys), REASON_HISTORY)
        # Every product that can be a reason is among the recent purchases.
        names = self._names(model.product_ids[np.unique(recent[recent >= 0])])
        customer_ids = np.asarray(keys, dtype=np.int64)
        users = np.arange(len(keys))
        has_history = np.bincount(history.user, minlength=len(keys)) > 0
        popularity = model.arrays["popularity"].astype(np.float64)
        default = (
            "Popular with shoppers like you"
            if isinstance(model.model, (CategoryPopularity, CategoryChain))
            else "Popular right now"
        )
        Recommendation.objects.filter(
            batch_id=batch_id, **pk_in("customer_id", keys)
        ).delete()
        # Rows are sent block by block: the database stores one while the next is
        # scored. No query may run until the writer is closed.
        with bulk_writer(
            Recommendation, ["batch", "customer", "rank", "product", "score", "reason"]
        ) as writer:
            for start in range(0, len(users), SCORING_BLOCK):
                block = users[start : start + SCORING_BLOCK]
                scores = model.model.score(history, block)
                if not scores.flags.writeable:  # popularity: a broadcast view
                    scores = np.array(scores)
                # Cold start: a customer with no history gets what is popular overall.
                newcomers = np.flatnonzero(~has_history[block])
                scores[newcomers] = popularity
                mine = seen.mask(block)
                ranked = fast_top_k(scores, TOP_N, mine & ~repeatable)
                picked = np.take_along_axis(scores, ranked, axis=1)
                again = np.take_along_axis(mine, ranked, axis=1)
                because = (
                    reason_items(explainer, recent[block], ranked)
                    if explainer is not None
                    else np.full(ranked.shape, -1)
                )
                row, rank = np.nonzero(np.isfinite(picked))
                writer.write(
                    batch_id,
                    customer_ids[block[row]],
                    rank + 1,
                    model.product_ids[ranked[row, rank]],
                    picked[row, rank].astype(np.float64),
                    _reason_labels(
                        np.where(again[row, rank], BUY_AGAIN, because[row, rank]),
                        ~has_history[block[row]],
                        model.product_ids,
                        names,
                        default,
                    ),
                )
        return writer.count

    def _write_product_lists(
        self, model: ServedModel, keys: list[int], batch_id: int
    ) -> int:
        arrays = model.arrays
        items = index_of(np.asarray(keys, np.int64), model.product_ids)
        known = arrays["similar_known"]
        by_picture = arrays.get("similar_by_picture", np.zeros(len(known), bool))
        sources = arrays.get(
            "together_source", np.zeros(arrays["together"].shape, np.int8)
        )
        rows = []
        for product_id, item in zip(keys, items.tolist(), strict=True):
            if item < 0:
                continue  # a product newer than the model: it waits for the next run
            similar_reason = (
                "Chosen by the same shoppers"
                if known[item]
                else "Looks alike, same category"
                if by_picture[item]
                else "Same category and price range"
            )
            for list_name, neighbours, scores, reasons in (
                (
                    ProductRecommendation.List.SIMILAR,
                    arrays["similar"],
                    arrays["similar_score"],
                    lambda score, entry, reason=similar_reason: reason,
                ),
                (
                    ProductRecommendation.List.BOUGHT_TOGETHER,
                    arrays["together"],
                    arrays["together_score"],
                    partial(_together_reason, sources[item]),
                ),
            ):
                pairs = zip(
                    neighbours[item].tolist(), scores[item].tolist(), strict=True
                )
                for rank, (other, score) in enumerate(pairs, start=1):
                    if other < 0:
                        break
                    rows.append(
                        (
                            batch_id,
                            product_id,
                            list_name,
                            rank,
                            int(model.product_ids[other]),
                            float(score),
                            reasons(score, rank - 1),
                        )
                    )
        ProductRecommendation.objects.filter(
            batch_id=batch_id, product_id__in=keys
        ).delete()
        return bulk_insert(
            ProductRecommendation,
            ["batch", "product", "list", "rank", "recommended", "score", "reason"],
            rows,
        )

    def _history(self, model: ServedModel, keys: list[int]) -> Interactions:
        frame = training_frame(customer_ids=keys)
        data = frame.interactions
        item = index_of(frame.product_ids[data.item], model.product_ids)
        known = item >= 0
        return Interactions(
            data.user[known],
            item[known],
            data.day[known],
            len(keys),
            len(model.product_ids),
            data.weight[known],
        )

    @staticmethod
    def _names(product_ids: np.ndarray) -> dict[int, str]:
        wanted = sorted(set(product_ids.tolist()))
        return dict(
            Product.objects.filter(**pk_in("pk", wanted)).values_list("pk", "name")
        )

    def on_activated(self, batch_id: int, previous_batch_id: int | None) -> str:
        """Say when serve-time filters will remove most of the new batch's rows."""
        return served_rows_filtered(batch_id).note()

    def delete_batch_rows(self, batch_ids: list[int]) -> None:
        if batch_ids:
            for table in (Recommendation, ProductRecommendation):
                table.objects.filter(batch_id__in=batch_ids)._raw_delete(
                    table.objects.db
                )


def _scaled(sink, start: float, end: float):
    """Map a sub-task's 0–100 % progress onto start–end % of the run."""

    def report(progress: Progress) -> None:
        percent = start + (end - start) * progress.percent / 100
        sink(
            Progress(
                progress.step,
                progress.total_steps,
                percent,
                progress.eta_seconds,
                progress.message,
            )
        )

    return report


def _constructor_args(model) -> dict:
    """Return the configuration a model was built with, without what it learned."""
    learned = {
        "scores",
        "item_scores",
        "global_scores",
        "category_prior",
        "item_log_prob",
        "transition",
        "category_bias",
        "affinity_scale",
        "neighbours",
        "similarities",
        "items",
        "weights",
        "n_items",
        "item_factors",
        "cycle",
        "popularity",
    }
    return {
        f.name: getattr(model, f.name)
        for f in fields(model)
        if f.init and f.name not in learned
    }


def _explainer(model):
    if isinstance(model, SASRec):
        return model.item_embeddings()
    if isinstance(model, ALS):
        return model.item_factors
    return getattr(model, "contributions", None)


def _price_bands(frame) -> np.ndarray:
    """Return 0/1/2 per item: its price tertile within its category."""
    prices = dict(Product.objects.values_list("pk", "price"))
    price = np.array([float(prices.get(int(pk), 0)) for pk in frame.product_ids])
    band = np.zeros(len(price), dtype=np.int64)
    for category in np.unique(frame.product_category):
        members = np.flatnonzero(frame.product_category == category)
        if len(members) >= 3:
            edges = np.quantile(price[members], [1 / 3, 2 / 3])
            band[members] = np.searchsorted(edges, price[members], side="right")
    return band


def _recent_items(bought: Interactions, n_users: int, count: int) -> np.ndarray:
    """Return (n_users, count) each user's most recent distinct purchases, -1 padded."""
    out = np.full((n_users, count), -1, dtype=np.int64)
    order = np.lexsort((-bought.day, bought.user))  # stable: ties keep their order
    user, item = bought.user[order], bought.item[order]
    # The first, most recent, row of each (user, item), the order otherwise kept.
    _, first = np.unique(user * max(bought.n_items, 1) + item, return_index=True)
    first.sort()
    user, item = user[first], item[first]
    rank = np.arange(len(user)) - np.searchsorted(user, user)  # within the user
    keep = rank < count
    out[user[keep], rank[keep]] = item[keep]
    return out


def _reason_labels(
    because: np.ndarray,
    newcomer: np.ndarray,
    product_ids: np.ndarray,
    names: dict[int, str],
    default: str,
) -> Labels:
    """Return each row's reason: the product it is "because" of, a re-buy
    (`BUY_AGAIN`), else popularity."""
    reasons = np.unique(because[because >= 0])
    labels = [f"Because you bought {names[pk]}" for pk in product_ids[reasons].tolist()]
    labels += ["Popular right now", default, BUY_AGAIN_REASON]
    codes = np.where(
        because >= 0,
        np.searchsorted(reasons, because),
        np.where(
            because == BUY_AGAIN,
            len(reasons) + 2,
            np.where(newcomer, len(reasons), len(reasons) + 1),
        ),
    )
    return Labels(codes, labels)


def _repeatable(model: ServedModel) -> np.ndarray:
    """Which products may be served to those who bought them: the model's repeat
    policy, or, for models trained before it, the shop's setting."""
    if "repeatable" in model.arrays:
        return model.arrays["repeatable"].astype(bool)
    return np.full(len(model.product_ids), bool(settings.SHOP_REPEAT_PURCHASE))


def _sample(n: int, most: int, seed: int) -> np.ndarray:
    """Every index below `n`, or a seeded sorted sample of `most` of them."""
    if n <= most:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, most, replace=False))
