"""Rolling-origin evaluation: every forecaster on the same held-back periods.

Origin k (0 = the latest) ends the training history `holdout * (k + 1)` periods before
the end of the panel and scores the `holdout` periods after it. Each origin fits a
fresh forecaster on the training panel of `Panel.split`, whose horizon covariates are
the held-back periods' real prices and promotions, marked as planned. Stock-out
periods are censored in the scores. Metrics are averaged over origins. With
`calibrate=True`, P10/P90 are rescaled about P50 by a scale fitted only on origins
older than the one scored (see `calibration`).
"""

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .baselines import Forecaster
from .calibration import MAX_SCALE, MIN_SCALE, IntervalScale, fit_scale
from .ensemble import combine
from .metrics import all_metrics
from .panel import Panel


def origin_panels(panel: Panel, holdout: int, origins: int):
    """Yield (training panel, actual units, censored, held-back prices) per origin."""
    if origins < 1:
        raise ValueError("origins must be at least one")
    n, t = panel.n_series, panel.n_periods
    for k in range(origins):
        end = t - holdout * k
        if end - holdout < 1:
            raise ValueError(
                f"{origins} origins of {holdout} periods need more history"
            )
        history = replace(
            panel,
            units=panel.units[:, :end],
            stockout=panel.stockout[:, :end],
            price=panel.price[:, :end],
            base_price=panel.base_price[:, :end],
            promo=panel.promo[:, :end],
            horizon=0,
            planned=np.zeros((n, 0), dtype=bool),
            **panel.optional_covariates(periods=slice(None, end)),
        )
        train, actual = history.split(holdout)
        cut = end - holdout
        yield train, actual, panel.stockout[:, cut:end], panel.price[:, cut:end]


def rolling_origin(
    panel: Panel,
    forecasters: dict[str, Callable[[], Forecaster]],
    holdout: int,
    origins: int = 1,
    metrics_fn: Callable = all_metrics,
    *,
    target: str = "units",
    plans: bool = True,
    ensembles: dict[str, tuple[str, ...]] | None = None,
    calibrate: int = 0,
) -> dict[str, dict]:
    """Score each forecaster (built fresh per origin by its factory) on the holdout.

    `target="price"` scores price forecasts against the held-back prices (season 1,
    nothing censored); `plans=False` takes the planned future away before fitting,
    as price forecasts are judged. `ensembles` names combinations of forecasters
    (their quantiles averaged, see `ensemble.combine`) scored on the same origins
    from the members' forecasts, at no extra fitting. Returns {"protocol": {...},
    name: {metric: mean}}.

    `calibrate=c` (units only) fits every forecaster at c more, older origins too
    (as many as the history allows), which are never scored: the P10/P90 of origin
    k are rescaled by the `IntervalScale` fitted on the forecasts and actuals of the
    c origins just older than k together, so no scored period is used to fit the
    scale applied to it. The scale
    what serves uses is fitted on every origin together, the latest included (its
    periods are history by then).
    The result then holds "calibration": {"served": {name: IntervalScale}, "report":
    {...}} with each model's coverage and pinball before and after.
    """
    if target not in ("units", "price"):
        raise ValueError("target must be 'units' or 'price'")
    if calibrate and target != "units":
        raise ValueError("only unit forecasts are calibrated")
    extra = int(calibrate)
    while extra and panel.n_periods - holdout * (origins + extra) < 1 + holdout:
        extra -= 1  # too little history for that many calibration origins
    names = [*forecasters, *(ensembles or {})]
    runs: list[dict] = []  # per origin, latest first: what each name forecast
    for train, units, censored, prices in origin_panels(
        panel, holdout, origins + extra
    ):
        if not plans:
            train = train.without_plans()
        if target == "units":
            history, actual, season = train.units, units, panel.season_length
        else:
            history, actual, season, censored = (
                train.price[:, : train.n_periods],
                prices,
                1,
                None,
            )
        forecasts = {}
        for name, make in forecasters.items():
            forecasts[name] = make().fit(train).predict(train)
        for name, members in (ensembles or {}).items():
            forecasts[name] = combine([forecasts[member] for member in members])
        runs.append(
            {"history": history, "actual": actual, "censored": censored, **forecasts}
        )
    scores: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    raw: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    holdout_scales: dict[str, list[IntervalScale]] = {name: [] for name in names}
    for k in range(origins):
        run = runs[k]
        for name in names:
            args = (run["history"], run["actual"])
            season = panel.season_length if target == "units" else 1
            scale = IntervalScale()
            if extra:
                scale = _pooled_scale(runs[k + 1 : k + 1 + extra], name)
                raw[name].append(metrics_fn(*args, run[name], season, run["censored"]))
            holdout_scales[name].append(scale)
            forecast = scale.apply(run[name])
            scores[name].append(metrics_fn(*args, forecast, season, run["censored"]))
    result: dict[str, dict] = {
        "protocol": {
            "holdout_periods": holdout,
            "origins": origins,
            "frequency": panel.frequency,
            "series": panel.n_series,
        }
    }
    for name in names:
        result[name] = _mean(scores[name])
    if calibrate:
        served = {name: _pooled_scale(runs, name) for name in names}
        result["calibration"] = {
            "served": served,
            "report": _calibration_report(
                extra, served, holdout_scales, raw, result, names
            ),
        }
    return result


def _pooled_scale(runs: list[dict], name: str) -> IntervalScale:
    """The scale fitted on `name`'s forecasts at every origin of `runs` together."""
    censored = [run["censored"] for run in runs]
    return fit_scale(
        np.concatenate([run[name] for run in runs]),
        np.concatenate([run["actual"] for run in runs]),
        None if any(c is None for c in censored) else np.concatenate(censored),
    )


def _mean(runs: list[dict[str, float]]) -> dict[str, float]:
    return {
        metric: float(np.nanmean([run[metric] for run in runs])) for metric in runs[0]
    }


def _calibration_report(extra, served, holdout_scales, raw, result, names) -> dict:
    """What `model_report` shows of the interval calibration."""
    if not extra:
        return {
            "method": "none: too little history for a calibration origin before "
            "the holdout, so the bands are the models' own"
        }
    report = {
        "method": "split-conformal scale of P50-P10 and P90-P50 per model "
        f"(bounded to [{MIN_SCALE}, {MAX_SCALE}]), fitted on the {extra} "
        "origin(s) before each scored one; what serves uses the scale fitted on "
        "every origin, the latest holdout included",
        "calibration_origins": extra,
        "target_coverage": 0.8,
    }
    for name in names:
        before = _mean(raw[name])
        report[name] = {
            "coverage_before": _round(before.get("coverage_p10_p90")),
            "coverage_after": _round(result[name].get("coverage_p10_p90")),
            "pinball_before": _round(before.get("pinball")),
            "pinball_after": _round(result[name].get("pinball")),
            "holdout_scale": [s.as_list() for s in holdout_scales[name]][0]
            if len(holdout_scales[name]) == 1
            else [s.as_list() for s in holdout_scales[name]],
            "served_scale": served[name].as_list(),
        }
    return report


def _round(value) -> float | None:
    return None if value is None or not np.isfinite(value) else round(value, 4)
