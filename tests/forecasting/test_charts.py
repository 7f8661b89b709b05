"""SVG forecast charts: elements, labels, text alternative, escaping, edge cases."""

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from forecasting.charts import band_chart, format_value, nice_ticks, stock_chart

SVG = "{http://www.w3.org/2000/svg}"
START = date(2026, 9, 1)


def day(n: int) -> date:
    return START + timedelta(days=n)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text")]


def by_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if e.get("class") == name]


def alternative(root: ET.Element) -> tuple[str, str]:
    """Return the chart's title and description, checked to be what it is named by."""
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    return title.text, desc.text


HISTORY = [(day(i), float(i % 5), i == 3) for i in range(10)]
FORECAST = [(day(10 + i), 1.0, 2.0 + i, 6.0 + i) for i in range(4)]


def test_band_chart_draws_history_median_band_and_stockouts():
    root = parse(band_chart(HISTORY, FORECAST, title="Demand", unit="units"))

    (history,) = by_class(root, "chart-history")
    assert len(history.get("points").split()) == 10
    assert history.get("stroke-dasharray") is None  # solid
    (median,) = by_class(root, "chart-p50")
    assert median.get("stroke-dasharray")  # dashed, not told by colour alone
    assert len(median.get("points").split()) == 4
    (band,) = by_class(root, "chart-band")
    assert band.tag == f"{SVG}polygon"
    assert len(band.get("points").split()) == 8  # P90 forward, P10 back
    pattern_id = root.find(f".//{SVG}pattern").get("id")
    assert band.get("fill") == f"url(#{pattern_id})"  # hatched
    (stockout,) = by_class(root, "chart-stockout")
    assert "2026-09-04" in stockout.find(f"{SVG}title").text


def test_band_chart_has_legend_axes_and_a_one_sentence_alternative():
    root = parse(band_chart(HISTORY, FORECAST, title="Demand", unit="units"))
    labels = texts(root)

    for entry in [
        "History (actual)",
        "Forecast P50 (median)",
        "P10–P90 range (80% band)",
        "Stock-out (censored demand)",
        "units",
        "2026-09-01",
        "2026-09-14",
        "0",
        "10",
    ]:
        assert entry in labels, entry
    title, desc = alternative(root)
    assert title == "Demand"
    assert desc.count(".") == 1 and desc.endswith(".")
    assert "history from 2026-09-01 to 2026-09-10" in desc
    assert "forecast from 2026-09-11 to 2026-09-14" in desc
    assert "median between 2 and 5 units" in desc
    assert "80% range between 1 and 9 units" in desc


def test_reference_lines_and_markers_carry_text_labels():
    root = parse(
        band_chart(
            HISTORY,
            FORECAST,
            title="Demand",
            unit="units",
            hlines=[(4.5, "Reorder point")],
            markers=[(day(12), "Stock-out P50"), (day(13), "Stock-out P90")],
        )
    )
    labels = texts(root)

    assert "Reorder point: 4.5" in labels
    assert "Stock-out P50: 2026-09-13" in labels
    assert "Stock-out P90: 2026-09-14" in labels
    assert len(by_class(root, "chart-hline")) == 1
    markers = by_class(root, "chart-marker")
    assert len(markers) == 2 and all(m.get("stroke-dasharray") for m in markers)
    _, desc = alternative(root)
    assert "Reorder point at 4.5 units" in desc
    assert "Stock-out P50 on 2026-09-13" in desc


def test_hostile_text_is_escaped():
    hostile = "<script>alert(\"x\")</script> & 'q'"
    svg = band_chart(
        [(day(0), 1.0, False)],
        [],
        title=hostile,
        unit="<b>",
        markers=[(day(0), "</text><script>")],
        hlines=[(1.0, '"><script>')],
    )

    assert "<script>" not in svg
    root = parse(svg)
    title, desc = alternative(root)
    assert title == hostile
    assert desc.startswith(hostile)
    assert "</text><script>: 2026-09-01" in texts(root)
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter("script"))


def test_no_data_says_so():
    root = parse(band_chart([], [], title="Price", unit="EUR"))

    assert "No data to chart yet." in texts(root)
    assert alternative(root) == ("Price", "Price: no data to chart yet.")
    assert not by_class(root, "chart-history")


def test_a_single_point_of_each_is_visible():
    root = parse(
        band_chart(
            [(day(0), 3.0, False)], [(day(1), 1.0, 2.0, 4.0)], title="D", unit="u"
        )
    )

    circles = root.findall(f"{SVG}circle")
    assert len(circles) == 2  # a lone history point and a lone median point
    (band,) = by_class(root, "chart-band")
    assert band.tag == f"{SVG}line" and band.get("y1") != band.get("y2")


def test_missing_values_break_the_history_line():
    history = [(day(0), 1.0, False), (day(1), 2.0, False), (day(2), None, False)]
    history += [(day(3), 2.0, False), (day(4), float("nan"), False)]
    history += [(day(5), 1.0, False), (day(6), 1.0, False)]
    root = parse(band_chart(history, [], title="D", unit="u"))

    assert len(by_class(root, "chart-history")) == 2
    assert len(root.findall(f"{SVG}circle")) == 1  # day 3 alone


def test_all_zeros_get_a_usable_scale():
    history = [(day(i), 0.0, False) for i in range(5)]
    forecast = [(day(5 + i), 0.0, 0.0, 0.0) for i in range(3)]
    root = parse(band_chart(history, forecast, title="D", unit="u"))

    (line,) = by_class(root, "chart-history")
    ys = {point.split(",")[1] for point in line.get("points").split()}
    assert len(ys) == 1  # flat, drawn on the bottom axis, not NaN
    assert all(float(y) == float(y) for y in ys)  # not NaN
    assert "0" in texts(root) and "1" in texts(root)


def test_prices_need_not_start_at_zero():
    history = [(day(i), 19.99, False) for i in range(3)]
    forecast = [(day(3), 18.5, 19.0, 19.5)]

    from_zero = texts(parse(band_chart(history, forecast, title="P", unit="EUR")))
    close_up = band_chart(history, forecast, title="P", unit="EUR", from_zero=False)

    assert "0" in from_zero
    assert "0" not in texts(parse(close_up))
    assert "18.5" in texts(parse(close_up)) and "20" in texts(parse(close_up))


def test_huge_values_get_short_tick_labels():
    history = [(day(i), 3e12 * (i + 1), False) for i in range(3)]
    root = parse(band_chart(history, [], title="D", unit="u"))

    assert "1e+13" not in " ".join(texts(root))
    assert any(label.endswith("T") for label in texts(root))


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (0, "0"),
        (0.5, "0.5"),
        (19.99, "19.99"),
        (1234, "1234"),
        (12345, "12.3k"),
        (999_999, "1M"),
        (-2e9, "-2bn"),
    ],
)
def test_format_value(value, label):
    assert format_value(value) == label


def test_nice_ticks_cover_the_range_in_round_steps():
    assert nice_ticks(0, 9) == [0, 2, 4, 6, 8, 10]
    assert nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]


def test_stock_chart_draws_both_paths_reorder_point_and_stockouts():
    dates = [day(i) for i in range(10)]
    root = parse(
        stock_chart(
            dates,
            [50 - 4 * i for i in range(10)],
            [max(0, 50 - 7 * i) for i in range(10)],
            title="Projected stock",
            reorder_point=20,
            markers=[(day(7), "Stock-out P90")],
        )
    )

    (p50,) = by_class(root, "chart-on-hand-p50")
    (p90,) = by_class(root, "chart-on-hand-p90")
    assert p90.get("stroke-dasharray") and not p50.get("stroke-dasharray")
    labels = texts(root)
    assert "Reorder point: 20" in labels
    assert "Stock-out P90: 2026-09-08" in labels
    assert "On hand at high demand (P90)" in labels
    _, desc = alternative(root)
    assert "from 50 to 14 units at median demand" in desc
    assert "Reorder point at 20 units" in desc


def test_charts_on_one_page_have_distinct_ids():
    first = parse(band_chart(HISTORY, FORECAST, title="Demand", unit="units"))
    second = parse(band_chart(HISTORY, FORECAST, title="Price", unit="EUR"))
    empty = parse(stock_chart([], [], [], title="Stock"))

    ids = [
        e.get("id")
        for root in (first, second, empty)
        for e in root.iter()
        if e.get("id")
    ]
    assert len(ids) == len(set(ids))


def test_bars_draw_every_period_from_zero_and_reach_the_forecast():
    history = [(day(i), 2.0 if i in (1, 9) else 0.0, False) for i in range(10)]
    forecast = [(day(10 + i), 0.0, 0.5, 1.0) for i in range(3)]
    root = parse(
        band_chart(history, forecast, title="D", unit="u", history_style="bars")
    )

    bars = by_class(root, "chart-history-bar")
    assert len(bars) == 2  # the zero days are drawn as no bar, not joined over
    assert not by_class(root, "chart-history")
    bottoms = {float(b.get("y")) + float(b.get("height")) for b in bars}
    assert len(bottoms) == 1  # from the zero line
    last_right = float(bars[-1].get("x")) + float(bars[-1].get("width"))
    origin = next(
        float(line.get("x1"))
        for line in root.iter(f"{SVG}line")
        if line.get("stroke-dasharray") == "1 2"
    )
    assert origin - 2 < last_right <= origin  # day 9's bar ends at day 10's start


def test_steps_hold_a_price_until_it_changes():
    history = [(day(i), 19.99 if i < 5 else 14.99, False) for i in range(8)]
    root = parse(
        band_chart(
            history, [], title="P", unit="EUR", history_style="steps", from_zero=False
        )
    )

    (line,) = by_class(root, "chart-history")
    points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    assert len(points) == 16  # each day: its start and its end
    rises = [(a, b) for a, b in zip(points, points[1:], strict=False) if a[1] != b[1]]
    assert len(rises) == 1 and rises[0][0][0] == rises[0][1][0]  # one vertical drop


def test_stockout_periods_are_shaded_with_bars():
    history = [(day(i), 0.0 if i in (3, 4) else 3.0, i in (3, 4)) for i in range(6)]
    root = parse(band_chart(history, [], title="D", unit="u", history_style="bars"))

    shaded = by_class(root, "chart-stockout")
    assert len(shaded) == 2
    assert "2026-09-04" in shaded[0].find(f"{SVG}title").text
    assert "Stock-out (censored demand)" in texts(root)


def test_no_tick_label_falls_outside_the_plot():
    # 19.5 .. 20.5 once rounded to ticks of 0.2 from 19.4: drawn below the axis
    history = [(day(i), 19.99, False) for i in range(3)]
    forecast = [(day(3), 19.49, 19.99, 20.49)]
    root = parse(band_chart(history, forecast, title="P", unit="EUR", from_zero=False))

    bottom = 300 - 74
    for text in root.iter(f"{SVG}text"):
        if text.get("text-anchor") == "end" and text.get("dominant-baseline"):
            assert 28 <= float(text.get("y")) <= bottom, text.text
