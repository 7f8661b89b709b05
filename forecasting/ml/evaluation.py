"""Rolling-origin evaluation: every forecaster on the same held-back periods.

Origin k (0 = the latest) ends the training history `holdout * (k + 1)` periods before
the end of the panel and scores the `holdout` periods after it. Each origin fits a
fresh forecaster on the training panel of `Panel.split`, whose horizon covariates are
the held-back periods' real prices and promotions, marked as planned. Stock-out
periods are censored in the scores. Metrics are averaged over origins.
"""

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .baselines import Forecaster
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
) -> dict[str, dict]:
    """Score each forecaster (built fresh per origin by its factory) on the holdout.

    `target="price"` scores price forecasts against the held-back prices (season 1,
    nothing censored); `plans=False` takes the planned future away before fitting,
    as price forecasts are judged. `ensembles` names combinations of forecasters
    (their quantiles averaged, see `ensemble.combine`) scored on the same origins
    from the members' forecasts, at no extra fitting. Returns {"protocol": {...},
    name: {metric: mean}}.
    """
    if target not in ("units", "price"):
        raise ValueError("target must be 'units' or 'price'")
    scores: dict[str, list[dict[str, float]]] = {
        name: [] for name in [*forecasters, *(ensembles or {})]
    }
    for train, units, censored, prices in origin_panels(panel, holdout, origins):
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
            scores[name].append(
                metrics_fn(history, actual, forecasts[name], season, censored)
            )
        for name, members in (ensembles or {}).items():
            forecast = combine([forecasts[member] for member in members])
            scores[name].append(metrics_fn(history, actual, forecast, season, censored))
    result: dict[str, dict] = {
        "protocol": {
            "holdout_periods": holdout,
            "origins": origins,
            "frequency": panel.frequency,
            "series": panel.n_series,
        }
    }
    for name, runs in scores.items():
        result[name] = {
            metric: float(np.nanmean([run[metric] for run in runs]))
            for metric in runs[0]
        }
    return result
