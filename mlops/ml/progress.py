"""Progress reporting from model code, without knowing where it is reported to."""

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    step: int
    total_steps: int
    percent: float
    eta_seconds: float | None
    message: str = ""


ProgressSink = Callable[[Progress], None]


class ProgressTracker:
    """Turn "step i of n" into percent and ETA, and pass it on at most every `interval` s."""

    def __init__(
        self,
        sink: ProgressSink | None,
        total_steps: int,
        *,
        interval: float = 1.0,
        start_percent: float = 0.0,
        end_percent: float = 100.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.sink = sink
        self.total_steps = max(total_steps, 1)
        self.interval = interval
        self.start_percent = start_percent
        self.end_percent = end_percent
        self.clock = clock
        self.started = clock()
        self.last_sent = float("-inf")

    def update(self, step: int, message: str = "", *, force: bool = False) -> None:
        now = self.clock()
        if self.sink is None or (not force and now - self.last_sent < self.interval):
            return
        fraction = min(step / self.total_steps, 1.0)
        elapsed = now - self.started
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        percent = (
            self.start_percent + (self.end_percent - self.start_percent) * fraction
        )
        self.last_sent = now
        self.sink(Progress(step, self.total_steps, round(percent, 2), eta, message))
