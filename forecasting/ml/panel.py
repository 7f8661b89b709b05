"""A panel of aligned sales series: what every forecaster and baseline reads.

All arrays share one calendar of `n_periods` history periods followed by `horizon`
future periods. History arrays (`units`, `stockout`) cover the history only; the
covariates (`price`, `base_price`, `promo`) cover history and horizon, the future part
holding planned prices and promotions (or the last known values where none is planned).
The optional `cost` (unit cost) and `competitor_price` cover history and horizon too,
NaN where unknown; None when nothing of the kind was imported.
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

PERIOD_DAYS = {"D": 1, "W": 7}
SEASON_LENGTH = {"D": 7, "W": 52}
OPTIONAL_COVARIATES = ("cost", "competitor_price")
EVERYTHING = slice(None)


@dataclass(frozen=True)
class Panel:
    """`n_series` aligned series; NaN units mark periods before a product existed."""

    units: np.ndarray  # float32 [n_series, n_periods]; NaN = not on sale yet
    stockout: np.ndarray  # bool [n_series, n_periods]; True = censored demand
    price: np.ndarray  # float32 [n_series, n_periods + horizon]; price paid/planned
    base_price: np.ndarray  # float32 [n_series, n_periods + horizon]; usual price
    promo: np.ndarray  # float32 [n_series, n_periods + horizon]; share on promo 0..1
    category: np.ndarray  # int32 [n_series]; 0 = unknown, categories 1..n
    start: date  # first history period
    frequency: str  # "D" or "W"
    horizon: int
    planned: np.ndarray | None = None  # bool [n_series, horizon]; True = a shop plan
    cost: np.ndarray | None = None  # float32 like price; unit cost, NaN = unknown
    competitor_price: np.ndarray | None = None  # float32 like price; NaN = unknown

    def __post_init__(self):
        n, t = self.units.shape
        if self.frequency not in PERIOD_DAYS:
            raise ValueError(f"frequency must be D or W, not {self.frequency!r}")
        if self.stockout.shape != (n, t):
            raise ValueError("stockout must have the shape of units")
        for name in ("price", "base_price", "promo", *OPTIONAL_COVARIATES):
            values = getattr(self, name)
            if values is not None and values.shape != (n, t + self.horizon):
                raise ValueError(f"{name} must cover history and horizon")
        if self.category.shape != (n,):
            raise ValueError("category must have one entry per series")
        if self.planned is None:
            object.__setattr__(self, "planned", np.zeros((n, self.horizon), dtype=bool))
        elif self.planned.shape != (n, self.horizon):
            raise ValueError("planned must have one entry per series and future period")

    @property
    def n_series(self) -> int:
        return self.units.shape[0]

    @property
    def n_periods(self) -> int:
        return self.units.shape[1]

    @property
    def season_length(self) -> int:
        return SEASON_LENGTH[self.frequency]

    def period_start(self, index: int) -> date:
        """The date of period `index` (history periods first, then the horizon)."""
        return self.start + timedelta(days=PERIOD_DAYS[self.frequency] * index)

    def future_dates(self) -> list[date]:
        return [self.period_start(self.n_periods + h) for h in range(self.horizon)]

    def calendar(self) -> np.ndarray:
        """Calendar features [n_periods + horizon, k]: sin/cos of week and year phase."""
        days = np.array(
            [
                self.period_start(i).toordinal()
                for i in range(self.n_periods + self.horizon)
            ],
            dtype=np.float64,
        )
        weekday = (days + 0) % 7 / 7.0  # ordinal 1 is a Monday
        year = (days % 365.25) / 365.25
        feats = [np.sin(2 * np.pi * year), np.cos(2 * np.pi * year)]
        if self.frequency == "D":
            feats += [np.sin(2 * np.pi * weekday), np.cos(2 * np.pi * weekday)]
        return np.stack(feats, axis=1).astype(np.float32)

    def split(self, holdout: int) -> tuple["Panel", np.ndarray]:
        """Hold the last `holdout` history periods back: (training panel, actual units).

        The training panel's horizon is `holdout`, its future covariates the held-back
        periods' real prices and promotions, marked as planned (as a shop's plan
        would give them). `without_plans()` takes them away again.
        """
        if not 0 < holdout < self.n_periods:
            raise ValueError("holdout must leave some history")
        cut = self.n_periods - holdout
        keep = cut + holdout
        train = replace(
            self,
            units=self.units[:, :cut],
            stockout=self.stockout[:, :cut],
            price=self.price[:, :keep],
            base_price=self.base_price[:, :keep],
            promo=self.promo[:, :keep],
            horizon=holdout,
            planned=np.ones((self.n_series, holdout), dtype=bool),
            **self.optional_covariates(EVERYTHING, slice(None, keep)),
        )
        return train, self.units[:, cut:]

    def without_plans(self) -> "Panel":
        """The panel as if nothing were planned: the future at the last base price,
        future costs and competitor prices unknown."""
        t = self.n_periods
        price, base, promo = (
            self.price.copy(),
            self.base_price.copy(),
            self.promo.copy(),
        )
        last_base = base[:, t - 1 : t]
        price[:, t:] = last_base
        base[:, t:] = last_base
        promo[:, t:] = 0.0
        unknown = {}
        for name, values in self.optional_covariates().items():
            unknown[name] = values.copy()
            unknown[name][:, t:] = np.nan
        return replace(
            self,
            price=price,
            base_price=base,
            promo=promo,
            planned=np.zeros_like(self.planned),
            **unknown,
        )

    def select(self, rows: np.ndarray) -> "Panel":
        """The panel of the series at `rows` (indices or a boolean mask)."""
        return replace(
            self,
            units=self.units[rows],
            stockout=self.stockout[rows],
            price=self.price[rows],
            base_price=self.base_price[rows],
            promo=self.promo[rows],
            category=self.category[rows],
            planned=self.planned[rows],
            **self.optional_covariates(rows),
        )

    def optional_covariates(self, rows=EVERYTHING, periods=EVERYTHING) -> dict:
        """The imported cost and competitor price arrays, cut to rows and periods."""
        return {
            name: getattr(self, name)[rows][:, periods]
            for name in OPTIONAL_COVARIATES
            if getattr(self, name) is not None
        }
