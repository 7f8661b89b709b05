"""Server-side SVG charts of forecasts: history, P50, the P10–P90 band, stock.

Charts need no script and no internet access, and read without colour alone: each
series has its own dash or fill pattern, reference lines and markers carry text
labels, a legend shows line samples, and `<title>`/`<desc>` give a one-sentence text
alternative. Every piece of text is escaped, so the result is safe to embed.
"""

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 28, 74  # margins for ticks, labels and legend
X_TICKS, Y_TICKS = 6, 5
CHAR_WIDTH = 6.5  # a generous average width of an 11px character, for layout
INK, MUTED, GRID = "#1d1d1f", "#5a5a60", "#e3e3e8"
FORECAST, ALERT, HIGH = "#0b57d0", "#a50e0e", "#8a4b00"
# Dash patterns tell the series apart without colour.
SOLID, MEDIAN, DOTTED, REFERENCE, MARKER = None, "6 4", "2 3", "8 3 2 3", "3 3"
LABEL = {"paint_order": "stroke", "stroke": "#fff", "stroke_width": 3}  # a halo

History = Sequence[tuple[date, float | None, bool]]  # (period, value, stock-out)
Forecast = Sequence[tuple[date, float, float, float]]  # (period, p10, p50, p90)
Markers = Sequence[tuple[date, str]]  # vertical lines: (date, label)
HLines = Sequence[tuple[float, str]]  # horizontal lines: (value, label)


def format_value(value: float) -> str:
    """Return a short label for a number: 0.5, 19.99, 1234, 12.3k, 4.5M."""
    if abs(value) < 9999.5:
        return f"{value:.4g}"
    scale, suffix = next(
        (scale, suffix)
        for scale, suffix in ((1e12, "T"), (1e9, "bn"), (1e6, "M"), (1e3, "k"))
        if abs(value) >= scale * 0.9995  # 999,999 reads 1M, not 1e+03k
    )
    return f"{value / scale:.3g}{suffix}"


def nice_ticks(low: float, high: float, count: int = Y_TICKS) -> list[float]:
    """Return round tick values (steps of 1, 2 or 5 × 10^k) covering low..high."""
    if not high > low:
        high = low + 1.0
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = [first]
    while ticks[-1] < high - step * 1e-9:
        ticks.append(first + step * len(ticks))
    return [0.0 if abs(t) < step * 1e-9 else t for t in ticks]


def _finite(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _num(value: float) -> str:
    return f"{value:.1f}"


def _attrs(**attrs) -> str:
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not None
    )


def _line_sample(stroke: str, dash: str | None = SOLID, width: float = 2) -> str:
    style = _attrs(stroke=stroke, stroke_width=width, stroke_dasharray=dash)
    return f'<line x1="0" x2="24" y1="0" y2="0"{style}/>'


def _stockout_symbol(x: float, y: float) -> str:
    """Return a crossed square: a censored (stock-out) period, told by its shape."""
    a, b = f"{_num(x - 4)},{_num(y - 4)}", f"{_num(x + 4)},{_num(y - 4)}"
    return (
        f'<path d="M{a}h8v8h-8zM{a}l8,8M{b}l-8,8" fill="#fff" stroke="{ALERT}"'
        ' stroke-width="1.5"/>'
    )


@dataclass
class _Canvas:
    """One chart being drawn: scales from data to pixels, elements and legend."""

    start: date
    end: date
    low: float
    high: float
    prefix: str  # unique per chart, for ids on a page with several charts
    parts: list[str] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (sample, label)
    sentence: list[str] = field(default_factory=list)
    right: float = WIDTH - RIGHT
    bottom: float = HEIGHT - BOTTOM
    period_days: int = 0  # each value covers [day, day + period); 0: a point in time
    ticks: list[float] = field(default_factory=list)  # the value axis's, low to high

    def x(self, day: date, shift: float = 0.0) -> float:
        span = max((self.end - self.start).days, 1)
        return LEFT + ((day - self.start).days + shift) / span * (self.right - LEFT)

    def xc(self, day: date) -> float:
        """Return the x of a value's period's middle (of the day, for points)."""
        return self.x(day, self.period_days / 2)

    def period_end(self, day: date) -> date:
        return day + timedelta(days=max(self.period_days, 1))

    def y(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return self.bottom - share * (self.bottom - TOP)

    def add(self, tag: str, **attrs) -> None:
        self.parts.append(f"<{tag}{_attrs(**attrs)}/>")

    def text(self, text: str, x, y, **attrs) -> None:
        self.parts.append(f"<text{_attrs(x=x, y=y, **attrs)}>{escape(text)}</text>")

    def polyline(self, points, *, steps: bool = False, **style) -> None:
        """Draw connected points; a None value breaks the line (no data there).

        With `steps`, each value holds flat over its period (a price until it
        changes), the changes drawn as vertical rises and falls.
        """
        run: list[str] = []
        for day, value in [*points, (None, None)]:
            if value is not None and steps:
                y = _num(self.y(value))
                run.append(f"{_num(self.x(day))},{y}")
                run.append(f"{_num(self.x(self.period_end(day)))},{y}")
            elif value is not None:
                run.append(f"{_num(self.xc(day))},{_num(self.y(value))}")
            elif len(run) > 1:
                self.add("polyline", points=" ".join(run), fill="none", **style)
            elif run:  # a lone point: a dot, as a line of one point is invisible
                cx, cy = run[0].split(",")
                self.add("circle", cx=cx, cy=cy, r=3, fill=style["stroke"])
            if value is None:
                run = []

    def axes(self, unit: str) -> None:
        # The ticks the scale was made from: recomputed from its ends, rounding could
        # add one outside the plot, drawn over the dates or the legend.
        for value in self.ticks or nice_ticks(self.low, self.high):
            y = _num(self.y(value))
            self.add("line", x1=LEFT, x2=self.right, y1=y, y2=y, stroke=GRID)
            self.text(
                format_value(value),
                LEFT - 6,
                y,
                text_anchor="end",
                fill=MUTED,
                dominant_baseline="middle",
            )
        self.text(unit, 8, TOP - 12, fill=MUTED, class_="chart-unit")
        span = (self.end - self.start).days
        for offset in sorted({round(span * i / (X_TICKS - 1)) for i in range(X_TICKS)}):
            day = self.start + timedelta(days=offset)
            x = _num(self.x(day))
            self.add("line", x1=x, x2=x, y1=self.bottom, y2=self.bottom + 4, stroke=INK)
            self.text(day.isoformat(), x, self.bottom + 16, text_anchor="middle")
        self.add(
            "line", x1=LEFT, x2=self.right, y1=self.bottom, y2=self.bottom, stroke=INK
        )
        self.add("line", x1=LEFT, x2=LEFT, y1=TOP, y2=self.bottom, stroke=INK)

    def hlines(self, hlines: HLines, unit: str) -> None:
        """Draw labelled horizontal reference lines (a reorder point)."""
        for value, label in hlines:
            y = _num(self.y(value))
            self.add(
                "line",
                x1=LEFT,
                x2=self.right,
                y1=y,
                y2=y,
                stroke=ALERT,
                stroke_width=1.5,
                stroke_dasharray=REFERENCE,
                class_="chart-hline",
            )
            self.text(
                f"{label}: {format_value(value)}",
                self.right + 4,
                y,
                dominant_baseline="middle",
                fill=ALERT,
                class_="chart-label",
                **LABEL,
            )
            self.legend.append((_line_sample(ALERT, REFERENCE, 1.5), label))
            self.sentence.append(f"{label} at {format_value(value)} {unit}")

    def markers(self, markers: Markers) -> None:
        """Draw labelled vertical lines (stock-out dates), labels stacked by row."""
        for row, (day, label) in enumerate(markers):
            x = self.x(day)
            self.add(
                "line",
                x1=_num(x),
                x2=_num(x),
                y1=TOP,
                y2=self.bottom,
                stroke=ALERT,
                stroke_width=1.5,
                stroke_dasharray=MARKER,
                class_="chart-marker",
            )
            left_half = x < (LEFT + self.right) / 2
            self.text(
                f"{label}: {day.isoformat()}",
                _num(x + (4 if left_half else -4)),
                TOP + 10 + 13 * row,
                text_anchor="start" if left_half else "end",
                fill=ALERT,
                class_="chart-label",
                **LABEL,
            )
            self.sentence.append(f"{label} on {day.isoformat()}")
        if markers:
            self.legend.append((_line_sample(ALERT, MARKER, 1.5), "Dated event"))

    def svg(self, title: str) -> SafeString:
        x, y = LEFT, self.bottom + 36
        for sample, label in self.legend:  # flows left to right, then wraps
            width = 30 + len(label) * CHAR_WIDTH + 24
            if x > LEFT and x + width > WIDTH:
                x, y = LEFT, y + 16
            self.parts.append(f'<g transform="translate({x:.0f},{y})">{sample}</g>')
            self.text(label, f"{x + 30:.0f}", y, dominant_baseline="middle")
            x += width
        ids = f"{self.prefix}-title {self.prefix}-desc"
        desc = "; ".join(self.sentence) + "."
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="forecast-chart"'
            f' viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"'
            f' style="max-width:100%;height:auto" font-family="system-ui, sans-serif"'
            f' font-size="11" aria-labelledby="{ids}">'
            f'<title id="{self.prefix}-title">{escape(title)}</title>'
            f'<desc id="{self.prefix}-desc">{escape(desc)}</desc>'
            '<rect width="100%" height="100%" fill="#fff"/>'  # legible in dark mode
        )
        return mark_safe(head + "".join(self.parts) + "</svg>")  # every text escaped


def _canvas(title: str, days: list[date], values: list[float], *data) -> _Canvas:
    digest = hashlib.sha1(repr((title, data)).encode(), usedforsecurity=False)
    prefix = f"chart-{digest.hexdigest()[:10]}"
    if not days:
        canvas = _Canvas(date.min, date.min, 0.0, 1.0, prefix)
        canvas.text(
            "No data to chart yet.",
            WIDTH / 2,
            HEIGHT / 2,
            text_anchor="middle",
            fill=MUTED,
        )
        canvas.sentence.append(f"{title}: no data to chart yet")
        return canvas
    start, end = min(days), max(days)
    if start == end:
        start, end = start - timedelta(days=1), end + timedelta(days=1)
    values = values or [0.0]
    ticks = nice_ticks(min(values), max(values))
    return _Canvas(start, end, ticks[0], ticks[-1], prefix, ticks=ticks)


def _span(values: Sequence[float], unit: str) -> str:
    low, high = min(values), max(values)
    if low == high:
        return f"at {format_value(low)} {unit}"
    return f"between {format_value(low)} and {format_value(high)} {unit}"


def _step_edge(canvas: _Canvas, values: list[tuple[date, float]]) -> list[str]:
    """Return the vertices of values held flat over their periods."""
    return [
        f"{_num(canvas.x(at))},{_num(canvas.y(value))}"
        for day, value in values
        for at in (day, canvas.period_end(day))
    ]


def _draw_band(canvas: _Canvas, forecast: Forecast, steps: bool = False) -> None:
    """Draw the P10–P90 band, hatched (an error bar when there is one period)."""
    pattern = f"{canvas.prefix}-band"
    canvas.parts.append(
        f'<defs><pattern id="{pattern}" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{FORECAST}" fill-opacity="0.12"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{FORECAST}" '
        'stroke-opacity="0.55" stroke-width="1.5"/></pattern></defs>'
    )
    first = canvas.x(forecast[0][0])
    canvas.add(
        "line",
        x1=_num(first),
        x2=_num(first),
        y1=TOP,
        y2=canvas.bottom,
        stroke=MUTED,
        stroke_dasharray="1 2",
    )
    canvas.text("Forecast →", _num(first), TOP - 4, text_anchor="start", fill=MUTED)
    if len(forecast) == 1 and not steps:
        _, p10, _, p90 = forecast[0]
        middle = canvas.xc(forecast[0][0])
        canvas.add(
            "line",
            x1=_num(middle),
            x2=_num(middle),
            y1=_num(canvas.y(p10)),
            y2=_num(canvas.y(p90)),
            stroke=FORECAST,
            stroke_width=8,
            stroke_opacity=0.35,
            class_="chart-band",
        )
    else:
        if steps:
            upper = _step_edge(canvas, [(d, p90) for d, _, _, p90 in forecast])
            lower = _step_edge(canvas, [(d, p10) for d, p10, _, _ in forecast])
            points = " ".join(upper + lower[::-1])
        else:
            edge = [(d, p90) for d, _, _, p90 in forecast]
            edge += [(d, p10) for d, p10, _, _ in reversed(forecast)]
            points = " ".join(
                f"{_num(canvas.xc(d))},{_num(canvas.y(v))}" for d, v in edge
            )
        canvas.add(
            "polygon",
            points=points,
            fill=f"url(#{pattern})",
            stroke=FORECAST,
            stroke_opacity=0.4,
            class_="chart-band",
        )
    sample = (
        f'<rect x="0" y="-6" width="24" height="12" fill="url(#{pattern})" '
        f'stroke="{FORECAST}" stroke-opacity="0.4"/>'
    )
    canvas.legend.append((sample, "P10–P90 range (80% band)"))


def _draw_bars(canvas: _Canvas, history: History) -> None:
    """Draw one bar per period from zero; a period that sold nothing has none."""
    for day, value, _ in history:
        if not value:
            continue
        left, right = canvas.x(day), canvas.x(canvas.period_end(day))
        gap = min(1.0, (right - left) / 4)
        top, base = canvas.y(max(value, 0.0)), canvas.y(max(canvas.low, 0.0))
        canvas.add(
            "rect",
            x=_num(left + gap),
            y=_num(min(top, base)),
            width=_num(max(right - left - 2 * gap, 0.5)),
            height=_num(abs(base - top)),
            fill=INK,
            fill_opacity=0.75,
            class_="chart-history-bar",
        )
    sample = (
        '<rect x="4" y="-6" width="16" height="12" fill="#1d1d1f" fill-opacity=".75"/>'
    )
    canvas.legend.insert(0, (sample, "History (actual)"))


def _draw_stockout_periods(canvas: _Canvas, days: list[date]) -> None:
    """Shade each stock-out period over the plot's height: demand there is censored."""
    pattern = f"{canvas.prefix}-stockout"
    canvas.parts.append(
        f'<defs><pattern id="{pattern}" width="5" height="5" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(-45)">'
        f'<rect width="5" height="5" fill="{ALERT}" fill-opacity="0.08"/>'
        f'<line x1="0" y1="0" x2="0" y2="5" stroke="{ALERT}" stroke-opacity="0.5"/>'
        "</pattern></defs>"
    )
    for day in days:
        left, right = canvas.x(day), canvas.x(canvas.period_end(day))
        canvas.parts.append(
            f'<g class="chart-stockout"><title>Stock-out on {day.isoformat()}: '
            "demand censored</title>"
            f'<rect x="{_num(left)}" y="{TOP}" width="{_num(max(right - left, 2.0))}"'
            f' height="{_num(canvas.bottom - TOP)}" fill="url(#{pattern})"/></g>'
        )
    sample = (
        f'<rect x="4" y="-6" width="16" height="12" fill="url(#{pattern})" '
        f'stroke="{ALERT}" stroke-opacity="0.5"/>'
    )
    canvas.legend.append((sample, "Stock-out (censored demand)"))


def _draw_history(
    canvas: _Canvas, history: History, unit: str, style: str = "line"
) -> None:
    """Draw the history: a solid line, bars from zero, or steps (a price that holds
    until it changes); stock-out periods shaded (or, on a line, crossed squares)."""
    if style == "bars":
        _draw_bars(canvas, history)
    else:
        canvas.polyline(
            [(d, v) for d, v, _ in history],
            steps=style == "steps",
            stroke=INK,
            stroke_width=2,
            class_="chart-history",
        )
        canvas.legend.insert(0, (_line_sample(INK), "History (actual)"))
    censored = [(d, v or 0.0) for d, v, stockout in history if stockout]
    if censored and style != "line":
        _draw_stockout_periods(canvas, [d for d, _ in censored])
    for day, value in censored if style == "line" else []:
        canvas.parts.append(
            f'<g class="chart-stockout"><title>Stock-out on {day.isoformat()}: '
            "demand censored</title>"
            f"{_stockout_symbol(canvas.x(day), canvas.y(value))}</g>"
        )
    if censored and style == "line":
        canvas.legend.append((_stockout_symbol(12, 0), "Stock-out (censored demand)"))
    known = [v for _, v, _ in history if v is not None]
    canvas.sentence.append(
        f"history from {history[0][0]} to {history[-1][0]}"
        + (f" {_span(known, unit)}" if known else "")
        + (f", {len(censored)} periods out of stock" if censored else "")
    )


def band_chart(
    history: History,
    forecast: Forecast,
    *,
    title: str,
    unit: str,
    markers: Markers = (),
    hlines: HLines = (),
    from_zero: bool = True,
    history_style: str = "line",
    forecast_style: str = "line",
    period_days: int = 1,
) -> SafeString:
    """Return an SVG of history (solid), P50 forecast (dashed) and its P10–P90 band.

    Values that are None or not finite are left out; an empty chart says so. The
    value axis starts at zero unless `from_zero` is false (prices). `history_style`
    is "line", "bars" (units: every period from zero, zero periods too) or "steps"
    (prices); `forecast_style` "line" or "steps". With bars or steps each value
    covers its period of `period_days`, and the history runs up to the forecast.
    """
    if {history_style, forecast_style} - {"line", "bars", "steps"}:
        raise ValueError(f"Unknown chart style: {history_style!r}, {forecast_style!r}")
    history = [(d, _finite(v), bool(stockout)) for d, v, stockout in history]
    forecast = [
        (d, *qs)
        for d, *raw in forecast
        if None not in (qs := [_finite(q) for q in raw])
    ]
    hlines = [(v, label) for v, label in hlines if _finite(v) is not None]
    days = [d for d, *_ in history] + [d for d, *_ in forecast]
    values = [v for _, v, _ in history if v is not None]
    values += [q for _, *qs in forecast for q in qs] + [v for v, _ in hlines]
    if days:
        days += [d for d, _ in markers]
    values += [0.0] * from_zero
    periods = history_style != "line" or forecast_style != "line"
    if days and periods:  # the last period ends a period after it starts
        days.append(max(days) + timedelta(days=period_days))
    canvas = _canvas(title, days, values, history, forecast, markers, hlines)
    if not days:
        return canvas.svg(title)
    canvas.period_days = period_days if periods else 0
    canvas.sentence.append(f"{title} in {unit}")
    canvas.axes(unit)
    if forecast:
        _draw_band(canvas, forecast, steps=forecast_style == "steps")
    if history:
        _draw_history(canvas, history, unit, history_style)
    if forecast:
        canvas.polyline(
            [(d, p50) for d, _, p50, _ in forecast],
            steps=forecast_style == "steps",
            stroke=FORECAST,
            stroke_width=2,
            stroke_dasharray=MEDIAN,
            class_="chart-p50",
        )
        sample = _line_sample(FORECAST, MEDIAN)
        canvas.legend.insert(bool(history), (sample, "Forecast P50 (median)"))
        medians = [p50 for _, _, p50, _ in forecast]
        bounds = [q for _, p10, _, p90 in forecast for q in (p10, p90)]
        canvas.sentence.append(
            f"forecast from {forecast[0][0]} to {forecast[-1][0]} with a median "
            f"{_span(medians, unit)} and an 80% range {_span(bounds, unit)}"
        )
    canvas.hlines(hlines, unit)
    canvas.markers(markers)
    return canvas.svg(title)


def stock_chart(
    dates: Sequence[date],
    on_hand_p50: Sequence[float],
    on_hand_p90: Sequence[float],
    *,
    title: str,
    unit: str = "units",
    reorder_point: float | None = None,
    markers: Markers = (),
) -> SafeString:
    """Return an SVG of projected stock on hand at median (P50) and high (P90) demand.

    The reorder point is a labelled horizontal line; `markers` (stock-out dates,
    deliveries) are labelled vertical lines.
    """
    dates = list(dates)
    p50 = [_finite(v) for v in on_hand_p50]
    p90 = [_finite(v) for v in on_hand_p90]
    hlines = (
        [] if _finite(reorder_point) is None else [(reorder_point, "Reorder point")]
    )
    values = [0.0, *(v for v in p50 + p90 if v is not None), *(v for v, _ in hlines)]
    days = dates + [d for d, _ in markers] if dates else []
    canvas = _canvas(title, days, values, dates, p50, p90, hlines, markers)
    if not dates:
        return canvas.svg(title)
    canvas.axes(unit)
    canvas.polyline(
        list(zip(dates, p50, strict=True)),
        stroke=INK,
        stroke_width=2,
        class_="chart-on-hand-p50",
    )
    canvas.polyline(
        list(zip(dates, p90, strict=True)),
        stroke=HIGH,
        stroke_width=2,
        stroke_dasharray=DOTTED,
        class_="chart-on-hand-p90",
    )
    canvas.legend += [
        (_line_sample(INK), "On hand at median demand (P50)"),
        (_line_sample(HIGH, DOTTED), "On hand at high demand (P90)"),
    ]
    known = [v for v in p50 if v is not None]
    canvas.sentence.append(
        f"{title} in {unit} from {dates[0]} to {dates[-1]}"
        + (
            f", from {format_value(known[0])} to {format_value(known[-1])} {unit}"
            " at median demand"
            if known
            else ""
        )
    )
    canvas.hlines(hlines, unit)
    canvas.markers(markers)
    return canvas.svg(title)
