"""The `demand` and `price` model kinds as the ML platform runs them.

Training reads the sales history as a panel (daily or weekly, whichever most records
are kept at; at most `MAX_SERIES` products, sampled), and scores the kind's model and
its baselines on the same rolling-origin holdout: the last `horizon` periods held back (and, with `origins` > 1, the
`horizon` periods before those…), their real prices and promotions given as the
shop's plan. The registry serves whichever wins on MASE. Each candidate's artifact is
the same configuration refitted on the whole history once measured, so that what serves
has learnt from the latest periods too. With the `calibration_origins` option, demand
candidates' P10/P90 are calibrated (`ml.calibration`): each scored origin with a scale
fitted on older, unscored origins; what serves with the scale fitted on every origin,
stored in its artifact.

Inference forecasts every product with sales in the recent history from the same
last period (fixed when the run starts), writing P10/P50/P90 per future period and,
for demand, what moved the forecast and the price elasticity it implies.
"""

import io
import json
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from mlops.bulk import bulk_insert
from mlops.kinds import Candidate, RunRefused, TrainContext, TrainingOutcome
from mlops.ml.progress import ProgressTracker
from mlops.models import ModelKind, ModelVersion

from .history import (
    DEFAULT_HORIZON,
    INFERENCE_PERIODS,
    TRAINING_PERIODS,
    SalesPanel,
    history_end,
    history_frequency,
    not_forecast_report,
    products_not_forecast,
    sales_panel,
)
from .ml.baselines import (
    ExponentialSmoothing,
    GradientBoosting,
    MovingAverage,
    SeasonalNaive,
)
from .ml.calibration import Calibrated, IntervalScale
from .ml.ensemble import (
    DEEP,
    ENSEMBLES,
    MODEL_RULE,
    Ensemble,
    ensemble_report,
    served_combination,
)
from .ml.evaluation import origin_panels, rolling_origin
from .ml.metrics import all_metrics
from .ml.panel import PERIOD_DAYS
from .ml.peers import AutoETS, LightGBMForecaster
from .ml.price import (
    LastPrice,
    PriceForecaster,
    at_or_above_cost,
    price_metrics,
)
from .models import ForecastPoint, ForecastSummary, SalesRecord
from .services import sales_history_refresh

MIN_SERIES = 2
MAX_SERIES = 3000  # products measured (and learnt from) per training run, sampled
# AutoETS fits up to six state-space models per series (about 0.2 s each on a busy
# 2-core host): measured where the panel has at most this many series, else skipped
# and the skip logged (10,000 daily products would take hours).
AUTO_ETS_MAX_SERIES = 1500
NOT_FORECAST_LOGGED = 20
# History a fit needs before the scored origins: a week's cycle of daily data, half a
# year of weekly data (a year of weekly sales can be scored; MASE then scales by the
# one-step naive error, as `ml.metrics` does for any history shorter than a season).
MIN_FIT_PERIODS = {"D": 7, "W": 26}
MOVING_AVERAGE_WINDOW = {"D": 28, "W": 4}
# Older origins that calibrate the demand candidates' P10/P90 (`ml.calibration`); off
# by default: on Dominick's the scale fitted on the 8 weeks before the holdout made
# the served band worse there (coverage 0.79 -> 0.74, pinball +11 %) and on the demo
# store's mostly-zero daily sales it changed nothing, at one more fit per candidate.
CALIBRATION_ORIGINS = 0
DEMAND_OPTIONS = (
    "lookback",
    "hidden",
    "learning_rate",
    "batch_size",
    "epochs",
    "patience",
    "max_windows",
)


def forecaster_classes() -> dict[str, type]:
    """Every forecaster by the class name stored in artifacts."""
    from .ml.demand import DemandForecaster

    return {
        cls.__name__: cls
        for cls in (
            DemandForecaster,
            SeasonalNaive,
            MovingAverage,
            ExponentialSmoothing,
            GradientBoosting,
            PriceForecaster,
            LastPrice,
            Ensemble,
            LightGBMForecaster,
            AutoETS,
        )
    }


@dataclass
class ServedForecaster:
    """A loaded forecaster with the calendar and categories it was trained on."""

    algorithm: str
    forecaster: object
    frequency: str
    horizon: int
    category_ids: np.ndarray


def artifact_bytes(
    forecaster,
    *,
    frequency: str,
    horizon: int,
    category_ids,
    interval_scale: IntervalScale | None = None,
) -> bytes:
    buffer = io.BytesIO()
    meta = {"frequency": frequency, "horizon": horizon}
    if interval_scale is not None:
        meta["interval_scale"] = interval_scale.as_list()
    np.savez(
        buffer,
        forecaster_class=np.asarray(type(forecaster).__name__),
        forecaster=np.frombuffer(forecaster.to_bytes(), dtype=np.uint8),
        meta=np.asarray(json.dumps(meta)),
        category_ids=np.asarray(category_ids, dtype=np.int64),
    )
    return buffer.getvalue()


def artifact_load(algorithm: str, artifact: bytes) -> ServedForecaster:
    with np.load(io.BytesIO(artifact), allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    cls = forecaster_classes()[str(arrays["forecaster_class"])]
    meta = json.loads(str(arrays["meta"]))
    forecaster = cls.from_bytes(arrays["forecaster"].tobytes())
    scale = IntervalScale(*meta.get("interval_scale", (1.0, 1.0)))
    if not scale.is_identity:  # the P10/P90 calibrated when it was measured
        forecaster = Calibrated(forecaster, scale)
    return ServedForecaster(
        algorithm=algorithm,
        forecaster=forecaster,
        frequency=meta["frequency"],
        horizon=int(meta["horizon"]),
        category_ids=arrays["category_ids"],
    )


@dataclass(frozen=True)
class TrainingData:
    sales: SalesPanel
    frequency: str
    horizon: int
    end: date
    not_forecast: dict | None = None  # SKU -> why inference will leave it out


class ForecastKind:
    """What the demand and price kinds share: data, protocol, keys, cleanup."""

    kind = ""
    primary_metric = "mase"
    higher_is_better = False
    point_kind = ""

    # --- training ---------------------------------------------------------------
    def training_data(self, context: TrainContext) -> TrainingData:
        sales_history_refresh()
        options = context.options
        frequency = options.get("frequency") or history_frequency()
        end = history_end(frequency) if frequency else None
        if end is None:
            raise RunRefused("No sales history: import sales or orders first.")
        horizon = int(options.get("horizon") or DEFAULT_HORIZON[frequency])
        periods = int(options.get("history_periods") or TRAINING_PERIODS[frequency])
        sales = sales_panel(
            frequency=frequency, end=end, horizon=horizon, periods=periods
        )
        cap = int(options.get("max_series", MAX_SERIES))
        if sales.panel.n_series > cap:  # every candidate on the same sample
            rows = np.sort(
                np.random.default_rng(context.seed).choice(
                    sales.panel.n_series, cap, replace=False
                )
            )
            context.log(f"{cap} of {sales.panel.n_series} products sampled")
            sales = SalesPanel(
                sales.panel.select(rows), sales.product_ids[rows], sales.category_ids
            )
        panel = sales.panel
        origins = int(options.get("origins", 1))
        needed = horizon * (origins + 1) + MIN_FIT_PERIODS[frequency]
        observed = (~np.isnan(panel.units)).sum(axis=1)
        if panel.n_series < MIN_SERIES or observed.max(initial=0) < needed:
            raise RunRefused(
                f"Not enough sales history: {panel.n_series} products, the longest "
                f"with {int(observed.max(initial=0))} periods; at least {MIN_SERIES} "
                f"products and {needed} periods are needed for a {horizon}-period "
                f"holdout at {origins} origin(s)."
            )
        context.log(
            f"{panel.n_series} products × {panel.n_periods} periods ({frequency}) up "
            f"to {end}; holdout {horizon} periods × {origins} origin(s)"
        )
        left_out = products_not_forecast(frequency, end)
        for sku, reason in list(left_out.items())[:NOT_FORECAST_LOGGED]:
            context.log(f"not forecast: {sku}: {reason}")
        if len(left_out) > NOT_FORECAST_LOGGED:
            context.log(f"not forecast: {len(left_out)} products in all")
        return TrainingData(sales, frequency, horizon, end, left_out)

    def measure(self, context, data: TrainingData, factories, **evaluation):
        """Score every factory's forecaster on the holdout, then refit each on the
        whole history: what serves has seen the latest periods too.

        Returns (protocol, metrics by name, refitted forecasters by name, interval
        scales by name). With `calibrate=True` in `evaluation`, the scales are those
        each candidate serves with (see `ml.calibration`; otherwise none) and the
        protocol reports coverage and pinball before and after calibration."""
        result = rolling_origin(
            data.sales.panel,
            factories,
            holdout=data.horizon,
            origins=int(context.options.get("origins", 1)),
            **evaluation,
        )
        protocol = result.pop("protocol")
        calibration = result.pop("calibration", None)
        scales = {}
        if calibration is not None:
            scales = calibration["served"]
            protocol["interval_calibration"] = calibration["report"]
            context.log(f"interval calibration: {calibration['report']}")
        for name, metrics in result.items():
            context.log(f"{name}: {_rounded(metrics)}")
        refitted = {
            name: make().fit(data.sales.panel) for name, make in factories.items()
        }
        context.log("every candidate refitted on the whole history")
        return protocol, result, refitted, scales

    def candidate(
        self, data: TrainingData, name, forecaster, metrics, hyper=None, scale=None
    ):
        extra = {"interval_scale": scale.as_list()} if scale is not None else {}
        return Candidate(
            name,
            _rounded(metrics),
            artifact_bytes(
                forecaster,
                frequency=data.frequency,
                horizon=data.horizon,
                category_ids=data.sales.category_ids,
                interval_scale=scale,
            ),
            "npz",
            {
                "frequency": data.frequency,
                "horizon": data.horizon,
                **(hyper or {}),
                **extra,
            },
        )

    def champion_metrics(self, context, data) -> dict | None:
        """The champion re-measured on this run's latest origin, if it can be."""
        champion = context.champion
        if champion is None:
            return None
        try:
            served = artifact_load(champion.algorithm, champion.artifact)
        except (KeyError, ValueError, OSError) as error:
            context.log(f"champion could not be re-measured: {error}")
            return None
        if served.frequency != data.frequency or served.horizon != data.horizon:
            return None
        train, actual, censored, prices = next(
            origin_panels(data.sales.panel, data.horizon, 1)
        )
        return _rounded(self.score_forecaster(served, train, actual, censored, prices))

    # --- serving ----------------------------------------------------------------
    def load(self, algorithm: str, artifact: bytes) -> ServedForecaster:
        return artifact_load(algorithm, artifact)

    def inference_keys(self) -> list:
        """Every product with a sale in the recent history, with the last period
        that all of them are forecast from (fixed for the whole run)."""
        sales_history_refresh()
        version = ModelVersion.objects.filter(
            kind=self.kind, status=ModelVersion.Status.CHAMPION
        ).first()
        frequency = (
            (version.hyperparameters or {}).get("frequency") if version else None
        )
        frequency = frequency or history_frequency()
        end = history_end(frequency) if frequency else None
        if end is None:
            return []
        since = end - timedelta(
            days=PERIOD_DAYS[frequency] * INFERENCE_PERIODS[frequency]
        )
        products = (
            SalesRecord.objects.filter(
                frequency=frequency,
                units__isnull=False,
                period_start__gt=since,
                product__is_active=True,
            )
            .values_list("product_id", flat=True)
            .distinct()
            .order_by("product_id")
        )
        return [[pk, end.isoformat()] for pk in products]

    def chunk_panel(self, model: ServedForecaster, keys: list) -> SalesPanel:
        end = date.fromisoformat(keys[0][1])
        return sales_panel(
            frequency=model.frequency,
            end=end,
            horizon=model.horizon,
            periods=INFERENCE_PERIODS[model.frequency],
            product_ids=[pk for pk, _ in keys],
            category_ids=model.category_ids,
        )

    def write_points(self, sales: SalesPanel, forecast: np.ndarray, batch_id) -> int:
        panel = sales.panel
        forecast = np.sort(np.maximum(np.nan_to_num(forecast), 0.0), axis=-1)
        dates = panel.future_dates()
        ids = sales.product_ids.tolist()
        ForecastPoint.objects.filter(
            batch_id=batch_id, product_id__in=ids, kind=self.point_kind
        ).delete()
        horizon = panel.horizon
        values = forecast[:, :horizon].reshape(-1, 3).tolist()  # no NumPy scalars
        rows = (
            (
                batch_id,
                product,
                self.point_kind,
                panel.frequency,
                dates[h],
                *(round(v, 4) for v in values[i * horizon + h]),
            )
            for i, product in enumerate(ids)
            for h in range(horizon)
        )
        return bulk_insert(
            ForecastPoint,
            [
                "batch",
                "product",
                "kind",
                "frequency",
                "period_start",
                "p10",
                "p50",
                "p90",
            ],
            rows,
        )

    def delete_batch_rows(self, batch_ids: list[int]) -> None:
        ForecastPoint.objects.filter(batch_id__in=batch_ids).delete()
        ForecastSummary.objects.filter(batch_id__in=batch_ids).delete()


class DemandKind(ForecastKind):
    """Units per product and period: the Keras sequence model, or its combination
    with the global tree models where that beats each member (`served_combination`),
    against the peers: seasonal naive, moving average, Holt-Winters, the project's
    gradient boosting, LightGBM and AutoETS (statsmodels), on the same origins."""

    kind = ModelKind.DEMAND
    point_kind = ForecastPoint.Kind.DEMAND

    def train(self, context: TrainContext) -> TrainingOutcome:
        from .ml.demand import DemandConfig, DemandForecaster

        data = self.training_data(context)
        options = context.options
        config = DemandConfig(**{k: options[k] for k in DEMAND_OPTIONS if k in options})
        factories = self.factories(context, data, config, DemandForecaster)
        protocol, results, fitted, scales = self.measure(
            context,
            data,
            factories,
            ensembles=ENSEMBLES,
            calibrate=int(
                context.options.get("calibration_origins", CALIBRATION_ORIGINS)
            ),
        )
        name, members = served_combination(results)
        context.log(f"model candidate: {name}")
        model = (
            Ensemble([fitted[member] for member in members], name)
            if len(members) > 1
            else fitted[name]
        )
        peers = {n: results[n] for n in factories if n != DEEP}
        return TrainingOutcome(
            model=self.candidate(
                data,
                name,
                model,
                results[name],
                model.hyperparameters(),
                scale=scales.get(name),
            ),
            baselines={
                n: self.candidate(data, n, fitted[n], results[n], scale=scales.get(n))
                for n in factories
                if n != DEEP
            },
            protocol=protocol
            | {
                "name": "rolling-origin",
                "last_period": str(data.end),
                "plans": "held-back periods' real prices and promotions as planned",
                "censored": "stock-out periods are left out of the scores",
                "model": f"{name}: " + MODEL_RULE,
                "model_members": {m: _rounded(results[m]) for m in members},
                "ensembles": ensemble_report(results),
                "deep_model_vs_best_peer": deep_gap(results, peers),
                "served_artifact": "each candidate refitted on the whole history",
                "not_forecast": not_forecast_report(data.not_forecast or {}),
            },
            data_fingerprint=_fingerprint(data),
            champion_metrics=self.champion_metrics(context, data),
        )

    @staticmethod
    def factories(context, data: TrainingData, config, deep_class) -> dict:
        """The Keras model and every peer, built fresh per origin."""
        sink = _progress(context)
        window = MOVING_AVERAGE_WINDOW[data.frequency]
        factories = {
            DEEP: lambda: deep_class(
                config, seed=context.seed, progress=sink, log=context.log
            ),
            SeasonalNaive.name: SeasonalNaive,
            f"moving-average-{window}": lambda: MovingAverage(window=window),
            ExponentialSmoothing.name: ExponentialSmoothing,
            GradientBoosting.name: lambda: GradientBoosting(seed=context.seed),
            LightGBMForecaster.name: lambda: LightGBMForecaster(
                seed=context.seed,
                n_estimators=int(
                    context.options.get(
                        "lightgbm_estimators", LightGBMForecaster.n_estimators
                    )
                ),
            ),
        }
        limit = int(context.options.get("auto_ets_max_series", AUTO_ETS_MAX_SERIES))
        if data.sales.panel.n_series <= limit:
            factories[AutoETS.name] = AutoETS
        else:
            context.log(
                f"auto-ets skipped: {data.sales.panel.n_series} series > {limit}"
            )
        return factories

    def score_forecaster(self, served, train, actual, censored, prices) -> dict:
        forecast = served.forecaster.predict(train)
        return all_metrics(train.units, actual, forecast, train.season_length, censored)

    def infer_chunk(self, *, model: ServedForecaster, keys: list, batch_id: int) -> int:
        from .ml.explain import elasticities, explain

        sales = self.chunk_panel(model, keys)
        forecast = model.forecaster.predict(sales.panel)
        written = self.write_points(sales, forecast, batch_id)
        explanations = explain(model.forecaster, sales.panel, forecast=forecast)
        values, levels = elasticities(model.forecaster, sales.panel)
        ids = sales.product_ids.tolist()
        ForecastSummary.objects.filter(batch_id=batch_id, product_id__in=ids).delete()
        rows = (
            (
                batch_id,
                product,
                model.frequency,
                round(float(np.maximum(forecast[i, :, 0], 0).sum()), 3),
                round(float(np.maximum(forecast[i, :, 1], 0).sum()), 3),
                round(float(np.maximum(forecast[i, :, 2], 0).sum()), 3),
                None if not np.isfinite(values[i]) else round(float(values[i]), 4),
                levels[i] if np.isfinite(values[i]) else "",
                explanations[i].sentence,
                _json(
                    {
                        k: round(float(v), 3)
                        for k, v in explanations[i].breakdown.items()
                    }
                ),
            )
            for i, product in enumerate(ids)
        )
        bulk_insert(
            ForecastSummary,
            [
                "batch",
                "product",
                "frequency",
                "horizon_units_p10",
                "horizon_units_p50",
                "horizon_units_p90",
                "elasticity",
                "elasticity_level",
                "explanation",
                "breakdown",
            ],
            rows,
        )
        return written


class PriceKind(ForecastKind):
    """The price path per product: learned promotion rhythm, pulled toward imported
    competitor prices and floored at imported unit costs, against the last price.

    Whichever serves, planned prices are served exactly (a plan is not a forecast)
    and other periods at or above the imported unit cost. Where costs or competitor prices were imported, the same forecaster without
    them is scored on the same holdout too and reported in the protocol.
    """

    kind = ModelKind.PRICE
    point_kind = ForecastPoint.Kind.PRICE
    evaluation = {"target": "price", "plans": False, "metrics_fn": price_metrics}

    def train(self, context: TrainContext) -> TrainingOutcome:
        data = self.training_data(context)
        factories = {PriceForecaster.name: PriceForecaster, LastPrice.name: LastPrice}
        covariates = _imported_covariates(data.sales.panel)
        if covariates:
            factories[PLAIN_PRICE] = lambda: PriceForecaster(
                name=PLAIN_PRICE, use_competitor=False, use_cost=False
            )
        protocol, results, fitted, _ = self.measure(
            context, data, factories, **self.evaluation
        )
        if covariates:
            covariates["without_them"] = _rounded(results.pop(PLAIN_PRICE))
        return TrainingOutcome(
            model=self.candidate(
                data,
                PriceForecaster.name,
                fitted[PriceForecaster.name],
                results[PriceForecaster.name],
            ),
            baselines={
                LastPrice.name: self.candidate(
                    data,
                    LastPrice.name,
                    fitted[LastPrice.name],
                    results[LastPrice.name],
                )
            },
            protocol=protocol
            | {
                "name": "rolling-origin",
                "last_period": str(data.end),
                "plans": "none: prices are forecast as if nothing were planned",
                "covariates": covariates
                or "none imported: no cost or competitor price",
                "served_artifact": "each candidate refitted on the whole history",
                "not_forecast": not_forecast_report(data.not_forecast or {}),
            },
            data_fingerprint=_fingerprint(data),
            champion_metrics=self.champion_metrics(context, data),
        )

    def score_forecaster(self, served, train, actual, censored, prices) -> dict:
        train = train.without_plans()
        forecast = served.forecaster.predict(train)
        return price_metrics(train.price[:, : train.n_periods], prices, forecast)

    def infer_chunk(self, *, model: ServedForecaster, keys: list, batch_id: int) -> int:
        sales = self.chunk_panel(model, keys)
        forecast = model.forecaster.predict(sales.panel)
        return self.write_points(
            sales, at_or_above_cost(sales.panel, forecast), batch_id
        )


PLAIN_PRICE = "price-forecast-without-covariates"


def _imported_covariates(panel) -> dict:
    """How many series have an imported competitor price or unit cost, if any."""
    t = panel.n_periods
    counts = {
        f"{name}_series": int(np.isfinite(values[:, :t]).any(axis=1).sum())
        for name, values in panel.optional_covariates().items()
    }
    return {name: count for name, count in counts.items() if count}


def deep_gap(results: dict, peers: dict) -> dict:
    """The Keras model's MASE against the best peer's: how far ahead or behind."""
    best = min(peers, key=lambda name: peers[name]["mase"])
    ratio = results[DEEP]["mase"] / max(peers[best]["mase"], 1e-12)
    return {
        "best_peer": best,
        "best_peer_mase": round(float(peers[best]["mase"]), 6),
        "lstm_mase": round(float(results[DEEP]["mase"]), 6),
        "ratio": round(float(ratio), 4),
    }


def _progress(context: TrainContext):
    """Adapt the platform's progress sink to a `(fraction, message)` callable; the
    Keras model's training is most of a demand run's time."""
    tracker = ProgressTracker(context.progress, 1000, end_percent=90.0)

    def report(fraction: float, message: str) -> None:
        tracker.update(int(fraction * 1000), message)

    return report


def _rounded(metrics: dict) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in metrics.items() if np.isfinite(v)}


def _fingerprint(data: TrainingData) -> dict:
    panel = data.sales.panel
    units = np.nan_to_num(panel.units)
    return {
        "series": int(panel.n_series),
        "periods": int(panel.n_periods),
        "frequency": data.frequency,
        "last_period": str(data.end),
        "units": round(float(units.sum()), 3),
        "stockout_periods": int(panel.stockout.sum()),
    }


def _json(value: dict):
    from django.db import connection

    return json.dumps(value) if connection.vendor == "postgresql" else value
