"""The `segments` model kind: RFM segments, behaviour clusters and churn risk.

Training measures the churn model on held-out time: features as of T − 2H with
labels from (T − 2H, T − H] to fit, features as of T − H with labels from (T − H, T]
to evaluate, where T is the day of the latest sale and H the horizon. Baselines on
the same data: `base-rate` (everyone gets the training churn rate) and
`recency-rule` (risk is the rank of recency). Whichever candidate serves, the
artifact also holds the RFM quintile edges, the k-means centroids and the cluster
descriptions, fitted on all customers as of T; the served churn model is refitted
on the latest window (features as of T − H, labels to T).
"""

import io
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from itertools import repeat

import numpy as np
from django.db import connection

from mlops.bulk import bulk_insert
from mlops.kinds import Candidate, RunRefused, TrainContext, TrainingOutcome
from mlops.ml.progress import ProgressTracker

from .ml import churn, clusters, customer_encoder, rfm
from .ml.protocol import index_of
from .models import CustomerSegment
from .segments import (
    SegmentFrame,
    category_names,
    joined_days_ago,
    latest_order_date,
    segment_customers,
    segment_frame,
    segment_snapshot_record,
)

MIN_CUSTOMERS = 20
TOP_AFFINITIES = 5
DEFAULT_L2 = 1.0
BASE_RATE = "base-rate"
ENCODER_METRICS = ("reconstruction_nll", "average_bag_nll")
RECENCY_RULE = "recency-rule"


@dataclass(frozen=True)
class CustomerEncoder:
    """The learned customer representation: input vocabulary and encoder weights.

    `category_ids` and `group_ids` are the category pks the encoder's columns stand
    for, so that categories added after training count nowhere instead of in the
    wrong column.
    """

    vocabulary: customer_encoder.Vocabulary
    weights: np.ndarray
    bias: np.ndarray
    category_ids: np.ndarray
    group_ids: np.ndarray

    @classmethod
    def fit(cls, frame: SegmentFrame, last: int, options: dict, seed: int):
        """Learn customer codes from what customers bought and browsed up to `last`."""
        p = frame.purchases
        seen = p.day <= last
        b = frame.browsing
        browsed = b.day <= last
        vocabulary = customer_encoder.build_vocabulary(
            np.concatenate([p.customer[seen], b.customer[browsed]]),
            np.concatenate([frame.line_product[seen], b.product[browsed]]),
            len(frame.category_ids),
            len(frame.group_ids),
            max_products=int(
                options.get("encoder_products", customer_encoder.DEFAULT_MAX_PRODUCTS)
            ),
        )
        config = customer_encoder.EncoderConfig(
            dim=int(options.get("encoder_dim", customer_encoder.DEFAULT_DIM)),
            epochs=int(options.get("encoder_epochs", 30)),
            dropout=float(options.get("encoder_dropout", 0.5)),
        )
        untrained = cls(
            vocabulary,
            np.zeros((0, 0)),
            np.zeros(0),
            frame.category_ids,
            frame.group_ids,
        )
        weights, bias, metrics = customer_encoder.fit_encoder(
            untrained.bags(frame, last), config, seed=seed
        )
        encoder = cls(vocabulary, weights, bias, frame.category_ids, frame.group_ids)
        return encoder, config, metrics

    def bags(self, frame: SegmentFrame, as_of: int):
        """Each customer's purchases and (weighted) browsing up to day `as_of`."""
        p, b = frame.purchases, frame.browsing
        bought, browsed = p.day <= as_of, b.day <= as_of
        category = index_of(frame.category_ids, self.category_ids)
        group = np.append(index_of(frame.group_ids, self.group_ids), -1)
        return customer_encoder.bags(
            self.vocabulary,
            np.concatenate([p.customer[bought], b.customer[browsed]]),
            np.concatenate([frame.line_product[bought], b.product[browsed]]),
            category[np.concatenate([p.category[bought], b.category[browsed]])],
            group[np.concatenate([frame.line_group[bought], b.group[browsed]])],
            p.n_customers,
            np.concatenate([np.ones(int(bought.sum()), np.float32), b.weight[browsed]]),
        )

    def codes(self, frame: SegmentFrame, as_of: int) -> np.ndarray:
        return customer_encoder.encode(self.bags(frame, as_of), self.weights, self.bias)

    def as_arrays(self) -> dict[str, np.ndarray]:
        return {
            "encoder_products": self.vocabulary.products,
            "encoder_category_ids": self.category_ids,
            "encoder_group_ids": self.group_ids,
            "encoder_weights": self.weights,
            "encoder_bias": self.bias,
        }

    @classmethod
    def from_arrays(cls, arrays: dict) -> "CustomerEncoder":
        category_ids, group_ids = (
            arrays["encoder_category_ids"],
            arrays["encoder_group_ids"],
        )
        vocabulary = customer_encoder.Vocabulary(
            arrays["encoder_products"], len(category_ids), len(group_ids)
        )
        return cls(
            vocabulary,
            arrays["encoder_weights"],
            arrays["encoder_bias"],
            category_ids,
            group_ids,
        )


@dataclass
class SegmentsModel:
    """A loaded segments artifact: churn scorer plus segmentation parameters."""

    algorithm: str
    horizon: int
    edges: rfm.RfmEdges
    centroids: np.ndarray
    cluster_labels: list[str]
    group_ids: np.ndarray
    price_band_edges: np.ndarray
    encoder: CustomerEncoder
    churn_model: churn.ChurnModel | None
    base_rate: float
    recency_quantiles: np.ndarray

    def churn_risk(self, features, recency_days, has_history) -> np.ndarray:
        """Return churn probabilities; NaN for customers without history."""
        if self.algorithm == BASE_RATE:
            risk = np.full(len(features), self.base_rate)
        elif self.algorithm == RECENCY_RULE:
            risk = churn.recency_rank(recency_days, self.recency_quantiles)
        else:
            risk = self.churn_model.predict_proba(features)
        return np.where(has_history, risk, np.nan)


@dataclass
class Representation:
    """Per customer as of a day: RFM values and scores, segment names, vectors."""

    values: churn.RfmValues
    scores: tuple[np.ndarray, np.ndarray, np.ndarray]
    names: np.ndarray
    vectors: np.ndarray
    category_shares: np.ndarray
    price_position: np.ndarray
    has_history: np.ndarray


def _represent(
    frame: SegmentFrame,
    as_of: int,
    edges: rfm.RfmEdges,
    group_ids: np.ndarray,
    encoder: CustomerEncoder,
    recently_joined: np.ndarray | None = None,
) -> Representation:
    p = frame.purchases
    values = churn.rfm_values(p, as_of)
    scores = rfm.rfm_scores(
        values.recency_days, values.frequency, values.monetary, edges
    )
    n, width = p.n_customers, len(group_ids)
    column = index_of(frame.group_ids, group_ids)
    line_column = (
        column[frame.line_group] if len(frame.line_group) else frame.line_group
    )
    keep = (p.day <= as_of) & (line_column >= 0)
    shares = np.zeros((n, width))
    np.add.at(shares, (p.customer[keep], line_column[keep]), 1.0)
    shares /= np.maximum(shares.sum(axis=1, keepdims=True), 1.0)
    seen = p.day <= as_of
    lines = np.bincount(p.customer[seen], minlength=n)
    position_sum = np.bincount(
        p.customer[seen], frame.line_price_position[seen], minlength=n
    )
    position = np.where(lines > 0, position_sum / np.maximum(lines, 1), 0.5)
    return Representation(
        values,
        scores,
        rfm.segment_names(*scores, recently_joined),
        clusters.customer_vectors(encoder.codes(frame, as_of), position),
        shares,
        position,
        values.frequency > 0,
    )


def _artifact(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


class SegmentsKind:
    kind = "segments"
    primary_metric = "auc"
    higher_is_better = True

    # --- training ---------------------------------------------------------------
    def train(self, context: TrainContext) -> TrainingOutcome:
        tracker = ProgressTracker(context.progress, 5)
        frame = segment_frame()
        p = frame.purchases
        if p.n_customers < MIN_CUSTOMERS:
            raise RunRefused(
                f"Not enough purchase history: {p.n_customers} customers have bought; "
                f"at least {MIN_CUSTOMERS} are needed."
            )
        last = frame.last_day
        horizon = self._horizon(context, p)
        fit_cut, eval_cut = last - 2 * horizon, last - horizon
        x_fit, has_fit = churn.churn_features(p, fit_cut, horizon)
        y_fit = churn.churn_labels(p, fit_cut, horizon)[has_fit]
        x_eval, has_eval = churn.churn_features(p, eval_cut, horizon)
        y_eval = churn.churn_labels(p, eval_cut, horizon)[has_eval]
        if has_fit.sum() < MIN_CUSTOMERS or len(np.unique(y_fit)) < 2:
            raise RunRefused(
                f"Not enough purchase history for a {horizon}-day churn horizon: "
                f"{int(has_fit.sum())} customers bought before day T−2H "
                f"({fit_cut} of {last}), with "
                f"{len(np.unique(y_fit))} outcome(s); at least {MIN_CUSTOMERS} "
                "customers and both outcomes are needed."
            )
        context.log(
            f"{p.n_customers} customers, {len(np.unique(p.order))} orders; horizon "
            f"{horizon} days; {int(has_fit.sum())} customers to fit, "
            f"{int(has_eval.sum())} to evaluate"
        )
        tracker.update(1, "features built", force=True)
        coverage = float(has_eval.sum()) / max(p.n_customers, 1)  # all have bought
        l2 = float(context.options.get("l2", DEFAULT_L2))
        measure = partial(
            self._measure,
            x_fit[has_fit],
            y_fit,
            x_eval[has_eval],
            y_eval,
            p,
            fit_cut,
            eval_cut,
            has_fit,
            has_eval,
            coverage,
        )
        measured = measure(l2, context.seed)
        tracker.update(2, "churn model measured", force=True)

        # What serves: segmentation as of T, churn refitted on the latest window.
        common = self._segmentation(frame, last, context)
        tracker.update(3, f"{len(common['centroids'])} clusters", force=True)
        serving = churn.ChurnModel(l2=l2, seed=context.seed).fit(
            x_eval[has_eval], y_eval
        )
        recency_now = churn.rfm_values(p, last).recency_days[p_has(p, last)]
        common |= {
            "horizon": np.array(horizon),
            "base_rate": np.array(float(y_eval.mean())),
            "recency_quantiles": churn.recency_quantiles(recency_now),
        }
        hyper = {"horizon_days": horizon, "k": int(len(common["centroids"]))}
        model = Candidate(
            churn.ChurnModel.algorithm,
            measured[churn.ChurnModel.algorithm],
            _artifact(
                common
                | {"algorithm": np.array(churn.ChurnModel.algorithm)}
                | serving.to_arrays()
            ),
            "npz",
            hyper | {"l2": l2, "features": list(churn.FEATURES)},
        )
        baselines = {
            name: Candidate(
                name,
                measured[name],
                _artifact(common | {"algorithm": np.array(name)}),
                "npz",
                dict(hyper),
            )
            for name in (BASE_RATE, RECENCY_RULE)
        }
        tracker.update(4, "artifacts written", force=True)
        champion_metrics = None
        if context.champion is not None:
            champion = context.champion
            if champion.algorithm == churn.ChurnModel.algorithm:
                champion_l2 = float(champion.hyperparameters.get("l2", DEFAULT_L2))
                if champion_l2 != l2:
                    measured = measure(champion_l2, context.seed)
            champion_metrics = measured.get(champion.algorithm)
        tracker.update(5, "done", force=True)
        return TrainingOutcome(
            model=model,
            baselines=baselines,
            protocol={
                "name": "churn-holdout-in-time",
                "horizon_days": horizon,
                "latest_day": str(_date(frame, last)),
                "fit_cutoff": str(_date(frame, fit_cut)),
                "evaluation_cutoff": str(_date(frame, eval_cut)),
                "fit_customers": int(has_fit.sum()),
                "evaluation_customers": int(has_eval.sum()),
                "evaluation_churn_rate": round(float(y_eval.mean()), 6),
                "label": "no purchase in the next horizon_days after the cut-off",
                "coverage": "customers scored at the evaluation cut-off / customers "
                "who bought by the latest day",
                "clusters_k": int(len(common["centroids"])),
                "clusters_silhouette": context_silhouettes(common),
                "clusters_representation": "learned customer codes (denoising "
                "autoencoder over purchased and browsed products and categories) "
                "and price position",
                "encoder_heldout_nll": dict(
                    zip(
                        ENCODER_METRICS,
                        [round(float(v), 4) for v in common["encoder_metrics"]],
                        strict=True,
                    )
                ),
                "champion_remeasured": "champion's configuration refit on the same data",
            },
            data_fingerprint=frame.fingerprint(),
            champion_metrics=champion_metrics,
        )

    def _horizon(self, context: TrainContext, purchases) -> int:
        option = context.options.get("horizon_days", churn.DEFAULT_HORIZON_DAYS)
        if option == "auto":
            return churn.adaptive_horizon(purchases)
        try:
            horizon = int(option)
        except (TypeError, ValueError):
            raise RunRefused(
                f"horizon_days must be a number of days or 'auto', not {option!r}."
            ) from None
        if horizon < 1:
            raise RunRefused(f"horizon_days must be at least 1, not {horizon}.")
        return horizon

    def _measure(
        self,
        x_fit,
        y_fit,
        x_eval,
        y_eval,
        p,
        fit_cut,
        eval_cut,
        has_fit,
        has_eval,
        coverage,
        l2,
        seed,
    ) -> dict[str, dict[str, float]]:
        """Return the metrics of the model and each baseline on the evaluation set."""
        model = churn.ChurnModel(l2=l2, seed=seed).fit(x_fit, y_fit)
        rate = float(y_fit.mean())
        quantiles = churn.recency_quantiles(
            churn.rfm_values(p, fit_cut).recency_days[has_fit]
        )
        recency_eval = churn.rfm_values(p, eval_cut).recency_days[has_eval]
        predictions = {
            churn.ChurnModel.algorithm: model.predict_proba(x_eval),
            BASE_RATE: np.full(len(y_eval), rate),
            RECENCY_RULE: churn.recency_rank(recency_eval, quantiles),
        }
        return {
            name: churn.churn_metrics(y_eval, predicted, coverage)
            for name, predicted in predictions.items()
        }

    def _segmentation(self, frame: SegmentFrame, last: int, context) -> dict:
        p = frame.purchases
        values = churn.rfm_values(p, last)
        edges = rfm.fit_edges(values.recency_days, values.frequency, values.monetary)
        encoder, encoder_metrics = self._fit_encoder(frame, last, context)
        rep = _represent(frame, last, edges, frame.group_ids, encoder)
        vectors = rep.vectors[rep.has_history]
        ks = context.options.get("ks", clusters.DEFAULT_KS)
        k, centroids, silhouettes = clusters.choose_k(vectors, ks=ks, seed=context.seed)
        if len(vectors) == 0:
            centroids = np.zeros((0, rep.vectors.shape[1]))
        paths = category_names()
        groups = [paths.get(int(pk), "Uncategorised") for pk in frame.group_ids]
        band_edges = clusters.price_band_edges(rep.price_position[rep.has_history])
        labels = clusters.describe_clusters(
            clusters.assign(vectors, centroids),
            len(centroids),
            rep.category_shares[rep.has_history],
            rep.price_position[rep.has_history],
            groups,
            band_edges=band_edges,
        )
        context.log(f"k={k} by held-out silhouette {silhouettes}: {labels}")
        return {
            "rfm_edges": edges.as_array(),
            "centroids": centroids,
            "cluster_labels": np.array(labels, dtype=str),
            "group_ids": frame.group_ids,
            "price_band_edges": band_edges,
            "silhouettes": np.array(
                [[k_, s] for k_, s in silhouettes.items()], dtype=np.float64
            ),
            "encoder_metrics": np.array(
                [encoder_metrics.get(name, np.nan) for name in ENCODER_METRICS]
            ),
        } | encoder.as_arrays()

    def _fit_encoder(self, frame: SegmentFrame, last: int, context):
        encoder, config, metrics = CustomerEncoder.fit(
            frame, last, context.options, context.seed
        )
        context.log(
            f"customer encoder: {encoder.vocabulary.width} inputs "
            f"({len(encoder.vocabulary.products)} products), {config.dim} dimensions; "
            f"held-out reconstruction {metrics}"
        )
        return encoder, metrics

    # --- serving ----------------------------------------------------------------
    def load(self, algorithm: str, artifact: bytes) -> SegmentsModel:
        with np.load(io.BytesIO(artifact), allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        name = str(arrays["algorithm"])
        return SegmentsModel(
            algorithm=name,
            horizon=int(arrays["horizon"]),
            edges=rfm.RfmEdges.from_array(arrays["rfm_edges"]),
            centroids=arrays["centroids"],
            cluster_labels=[str(s) for s in arrays["cluster_labels"]],
            group_ids=arrays["group_ids"],
            price_band_edges=arrays.get("price_band_edges", clusters.EVEN_THIRDS),
            encoder=CustomerEncoder.from_arrays(arrays),
            churn_model=churn.ChurnModel.from_arrays(arrays)
            if name == churn.ChurnModel.algorithm
            else None,
            base_rate=float(arrays["base_rate"]),
            recency_quantiles=arrays["recency_quantiles"],
        )

    def inference_keys(self) -> list[int]:
        return segment_customers()

    def infer_chunk(
        self, *, model: SegmentsModel, keys: list[int], batch_id: int
    ) -> int:
        """Write the profile of each customer in `keys`, replacing the batch's rows."""
        frame = segment_frame(customer_ids=keys)
        p = frame.purchases
        latest = latest_order_date()
        as_of = frame.day_of(latest) if latest else frame.last_day
        joined = joined_days_ago(frame.customer_ids, latest)
        rep = _represent(
            frame,
            as_of,
            model.edges,
            model.group_ids,
            model.encoder,
            joined <= model.horizon,
        )
        features, has = churn.churn_features(p, as_of, model.horizon)
        risk = model.churn_risk(features, rep.values.recency_days, has)
        if len(model.centroids):
            cluster = clusters.assign(rep.vectors, model.centroids)
        else:
            cluster = np.zeros(p.n_customers, dtype=np.int64)
        cluster = np.where(rep.has_history, cluster, -1)
        labels = np.array(model.cluster_labels + [""], dtype=object)
        bands = np.where(
            rep.has_history,
            clusters.price_band(rep.price_position, model.price_band_edges),
            "",
        )
        affinities = self._affinities(frame, as_of)
        as_json = json.dumps if connection.vendor == "postgresql" else _same
        r, f, m = rep.scores
        v = rep.values
        rows = zip(
            repeat(batch_id),
            frame.customer_ids.tolist(),
            [
                int(d) if h else None
                for d, h in zip(v.recency_days, rep.has_history, strict=True)
            ],
            v.frequency.tolist(),
            [Decimal(f"{x:.2f}") for x in v.monetary.tolist()],
            r.tolist(),
            f.tolist(),
            m.tolist(),
            rep.names.tolist(),
            cluster.tolist(),
            labels[cluster].tolist(),
            [None if np.isnan(x) else round(float(x), 6) for x in risk],
            bands.tolist(),
            [as_json(a) for a in affinities],
            strict=False,
        )
        CustomerSegment.objects.filter(batch_id=batch_id, customer_id__in=keys).delete()
        return bulk_insert(
            CustomerSegment,
            [
                "batch",
                "customer",
                "recency_days",
                "frequency",
                "monetary",
                "r_score",
                "f_score",
                "m_score",
                "rfm_segment",
                "cluster",
                "cluster_label",
                "churn_risk",
                "price_band",
                "category_affinities",
            ],
            rows,
        )

    def _affinities(self, frame: SegmentFrame, as_of: int) -> list[list[dict]]:
        """Return each customer's top categories by share of purchased lines."""
        p = frame.purchases
        seen = (p.day <= as_of) & (p.category > 0)
        width = len(frame.category_ids)
        counts = np.bincount(
            p.customer[seen] * width + p.category[seen],
            minlength=p.n_customers * width,
        ).reshape(p.n_customers, width)
        totals = counts.sum(axis=1)
        top = np.argsort(-counts, axis=1, kind="stable")[:, :TOP_AFFINITIES]
        paths = category_names()
        result = []
        for row, total in enumerate(totals.tolist()):
            entries = []
            for index in top[row].tolist():
                n = int(counts[row, index])
                if n == 0:
                    break
                pk = int(frame.category_ids[index])
                entries.append(
                    {
                        "category": pk,
                        "name": paths.get(pk, ""),
                        "share": round(n / total, 4),
                    }
                )
            result.append(entries)
        return result

    def delete_batch_rows(self, batch_ids: list[int]) -> None:
        if batch_ids:
            CustomerSegment.objects.filter(batch_id__in=batch_ids)._raw_delete(
                CustomerSegment.objects.db
            )

    def on_activated(self, batch_id: int, previous_batch_id: int | None) -> None:
        """Record the new batch's sizes, revenue and movement since the previous."""
        segment_snapshot_record(batch_id=batch_id, previous_batch_id=previous_batch_id)


def p_has(purchases, day: int) -> np.ndarray:
    return churn.rfm_values(purchases, day).frequency > 0


def context_silhouettes(common: dict) -> dict[str, float]:
    return {str(int(k)): float(s) for k, s in common["silhouettes"].tolist()}


def _date(frame: SegmentFrame, day: int) -> date:
    return date.fromordinal(frame.epoch.toordinal() + day)


def _same(value):
    return value
