"""An equal-weight ensemble of forecasters: their quantiles averaged.

Averaging each quantile across members (Vincentisation) keeps P10 <= P50 <= P90 and
usually beats every member when their errors differ, as the Keras sequence model's
and gradient boosting's do.
"""

import io
import json

import numpy as np

from .panel import Panel

DEEP = "lstm"  # `demand.DemandForecaster.name`
# Combinations of the Keras model with the global tree models, scored from their
# members' forecasts on the same origins; one serves only where it beats every member.
ENSEMBLES = {
    "lstm+gradient-boosting": (DEEP, "gradient-boosting"),
    "lstm+lightgbm": (DEEP, "lightgbm"),
    "lstm+lightgbm+gradient-boosting": (DEEP, "lightgbm", "gradient-boosting"),
}
MODEL_RULE = (
    "the best combination of the Keras model with the tree models that beats every "
    "one of its members on MASE, else the Keras model alone"
)


def served_combination(results: dict) -> tuple[str, tuple[str, ...]]:
    """The model candidate: the ensemble with the lowest MASE among those that beat
    each of their members on the rolling origins, else the Keras model alone."""
    winners = [
        name
        for name, members in ENSEMBLES.items()
        if _beats_members(results, name, members)
    ]
    if not winners:
        return DEEP, (DEEP,)
    best = min(winners, key=lambda name: results[name]["mase"])
    return best, ENSEMBLES[best]


def _beats_members(results: dict, name: str, members) -> bool:
    if name not in results or any(m not in results for m in members):
        return False
    return all(results[name]["mase"] < results[m]["mase"] for m in members)


def ensemble_report(results: dict) -> dict:
    """Each ensemble's MASE and whether it beat all its members."""
    return {
        name: {
            "mase": round(float(results[name]["mase"]), 6),
            "beats_members": _beats_members(results, name, members),
        }
        for name, members in ENSEMBLES.items()
        if name in results
    }


def combine(forecasts: list[np.ndarray]) -> np.ndarray:
    """Return the quantile-wise mean of forecasts [n, horizon, 3], sorted per step."""
    return np.sort(np.mean(np.stack(forecasts), axis=0), axis=-1)


def _classes() -> dict[str, type]:
    from .baselines import (
        ExponentialSmoothing,
        GradientBoosting,
        MovingAverage,
        SeasonalNaive,
    )
    from .demand import DemandForecaster
    from .peers import AutoETS, LightGBMForecaster

    return {
        cls.__name__: cls
        for cls in (
            DemandForecaster,
            LightGBMForecaster,
            AutoETS,
            GradientBoosting,
            ExponentialSmoothing,
            MovingAverage,
            SeasonalNaive,
        )
    }


class Ensemble:
    """Fitted member forecasters whose quantile forecasts are averaged."""

    def __init__(self, members: list, name: str = ""):
        if not members:
            raise ValueError("an ensemble needs members")
        self.members = members
        self.name = name or "+".join(m.name for m in members)
        self._last: dict[int, tuple[Panel, np.ndarray]] = {}
        self._last_median: dict[int, tuple[Panel, np.ndarray]] = {}

    def fit(self, panel: Panel) -> "Ensemble":
        self._last.clear()
        self._last_median.clear()
        for member in self.members:
            member.fit(panel)
        return self

    def predict(self, panel: Panel, *, calendar: np.ndarray | None = None):
        """Average the members' forecasts. `calendar` (explanations hold the season
        flat with it) reaches the members that take one; the others' forecast of
        the same panel is reused rather than made again for every calendar."""
        forecasts = []
        for index, member in enumerate(self.members):
            if calendar is not None and _takes_calendar(member):
                forecasts.append(member.predict(panel, calendar=calendar))
                continue
            last = self._last.get(index)
            if last is None or last[0] is not panel:
                last = (panel, member.predict(panel))
                self._last[index] = last
            forecasts.append(last[1])
        return combine(forecasts)

    def predict_median(self, panel: Panel, *, calendar: np.ndarray | None = None):
        """`predict(panel, calendar=calendar)[..., 1]`, from each member's median.

        Every member's P10 <= P50 <= P90, so their mean is in order and its P50 is
        the mean of their P50s: the same numbers, with a third of gradient
        boosting's trees."""
        medians = []
        for index, member in enumerate(self.members):
            if calendar is not None and _takes_calendar(member):
                medians.append(median_forecast(member, panel, calendar=calendar))
                continue
            last = self._last_median.get(index)
            if last is None or last[0] is not panel:
                last = (panel, median_forecast(member, panel))
                self._last_median[index] = last
            medians.append(last[1])
        return np.mean(np.stack(medians), axis=0)

    def hyperparameters(self) -> dict:
        return {
            "members": [m.name for m in self.members],
            **{
                m.name: m.hyperparameters()
                for m in self.members
                if hasattr(m, "hyperparameters")
            },
        }

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            name=np.asarray(self.name),
            classes=np.asarray(json.dumps([type(m).__name__ for m in self.members])),
            **{
                f"member_{i}": np.frombuffer(m.to_bytes(), dtype=np.uint8)
                for i, m in enumerate(self.members)
            },
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Ensemble":
        classes = _classes()
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            names = json.loads(str(arrays["classes"]))
            members = [
                classes[name].from_bytes(arrays[f"member_{i}"].tobytes())
                for i, name in enumerate(names)
            ]
            return cls(members, str(arrays["name"]))


def _takes_calendar(forecaster) -> bool:
    import inspect

    return "calendar" in inspect.signature(forecaster.predict).parameters


def median_forecast(forecaster, panel: Panel, *, calendar=None) -> np.ndarray:
    """P50 [n, horizon] of `forecaster`: its `predict_median` where it has one."""
    kwargs = {}
    if calendar is not None and _takes_calendar(forecaster):
        kwargs["calendar"] = calendar
    median = getattr(forecaster, "predict_median", None)
    if median is not None:
        return median(panel, **kwargs)
    return forecaster.predict(panel, **kwargs)[..., 1]
