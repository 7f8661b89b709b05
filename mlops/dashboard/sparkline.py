"""Small server-side SVG sparklines for the dashboard: one series, no axes.

Like the forecast charts (forecasting/charts.py) they need no script, read without
colour (a line plus dots for the first, highest and last value, each also named in
the text alternative) and carry `<title>`/`<desc>`.
"""

from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

from forecasting.charts import FORECAST, INK, format_value

WIDTH, HEIGHT, PAD = 120, 28, 3


def sparkline(values: Sequence[float], *, label: str, unit: str = "") -> SafeString:
    """Return an inline SVG of `values` (one a day), with a text alternative.

    `label` names the series ("Daily revenue of MUG-1"); the description gives the
    first, highest and last value so the numbers are there without the picture.
    """
    points = [float(v or 0) for v in values]
    suffix = f" {unit}" if unit else ""
    if not points:
        description = "No data in this period."
    else:
        description = (
            f"{len(points)} days: first {format_value(points[0])}{suffix}, "
            f"highest {format_value(max(points))}{suffix}, "
            f"last {format_value(points[-1])}{suffix}."
        )
    title, desc = escape(label), escape(description)
    if len(points) < 2:
        shape = ""
    else:
        low, high = min(points), max(points)
        span = high - low
        step = (WIDTH - 2 * PAD) / (len(points) - 1)

        def xy(i: int, v: float) -> tuple[float, float]:
            if high == low:  # a flat series runs through the middle
                return PAD + i * step, HEIGHT / 2
            return PAD + i * step, HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD)

        coords = [xy(i, v) for i, v in enumerate(points)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        peak = max(range(len(points)), key=points.__getitem__)
        dots = "".join(
            f'<circle cx="{coords[i][0]:.1f}" cy="{coords[i][1]:.1f}" r="2" '
            f'fill="{fill}" stroke="{INK}" stroke-width="1"/>'
            for i, fill in ((0, "#fff"), (peak, INK), (len(points) - 1, FORECAST))
        )
        shape = (
            f'<polyline points="{path}" fill="none" stroke="{FORECAST}" '
            f'stroke-width="1.5" stroke-linejoin="round"/>{dots}'
        )
    return mark_safe(  # noqa: S308 - every piece of text above is escaped
        f'<svg class="sparkline" role="img" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-label="{title}: {desc}">'
        f"<title>{title}</title><desc>{desc}</desc>{shape}</svg>"
    )
