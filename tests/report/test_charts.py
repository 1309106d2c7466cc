"""The report's hand-drawn SVG charts: nice axis ticks, bars to scale, data labels escaped."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from assets.report.charts import REASONS, annual_chart, category_chart, nice_ticks, quarterly_chart

NS = "{http://www.w3.org/2000/svg}"


@given(st.floats(min_value=0.001, max_value=1e9), st.booleans())
def test_ticks_start_at_zero_cover_the_top_in_equal_steps(top, integer):
    ticks = nice_ticks(top, integer)
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert ticks[0] == 0 and ticks[-1] >= top * (1 - 1e-9) and ticks[-2] < top  # float noise
    assert len(steps) == 1 and 2 <= len(ticks) <= 7
    step = steps.pop()
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 2.5, 5) or (integer and step == int(step))


def test_ticks_by_hand():
    assert nice_ticks(375, True) == [0, 100, 200, 300, 400]
    assert nice_ticks(76.5, False) == [0, 20, 40, 60, 80]
    assert nice_ticks(3, True) == [0, 1, 2, 3]
    assert nice_ticks(0, True) == [0, 1]


def _bars(svg: str) -> list[tuple[float, float, str]]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    return [
        (float(r.get("height")), float(r.get("width")), r.findtext(f"{NS}title") or "")
        for r in root.iter(f"{NS}rect")
        if r.findtext(f"{NS}title")
    ]


def test_quarterly_bars_are_to_scale_and_titled():
    rows = [
        {"fiscal_year": 2024, "fiscal_quarter": 1, "dd_tco": 100, "dd_non_tco": 150, "dd_undetermined": 50},
        {"fiscal_year": 2024, "fiscal_quarter": 2, "dd_tco": 50, "dd_non_tco": 0, "dd_undetermined": None},
    ]  # fmt: skip
    bars = {title: h for h, _, title in _bars(quarterly_chart(rows))}
    # axis 0..300 (nice ticks of 300) over 240 units of height: 0.8 per SCR
    assert bars == {
        "FY2024 Q1 TCO: 100": 80, "FY2024 Q1 Not a TCO: 150": 120,
        "FY2024 Q1 Undetermined: 50": 40, "FY2024 Q2 TCO: 50": 40,
        "FY2024 Q2 Not a TCO: 0": 0, "FY2024 Q2 Undetermined: 0": 0,
    }  # fmt: skip


def test_annual_chart_has_both_panels_and_the_target_lines():
    rows = [
        {"fiscal_year": 2020, "measure_type": "percent", "result_old_method": 0.75,
         "result_tco_validated": 0.5, "target": 0.25, "quarters_reported": 4},
        {"fiscal_year": 2021, "measure_type": "count", "result_old_method": 400,
         "result_tco_validated": 200, "target": 300, "quarters_reported": 2},
    ]  # fmt: skip
    svg = annual_chart(rows)
    titles = [t for _, _, t in _bars(svg)]
    assert titles == ["FY2020 old method: 75%", "FY2020 TCO: 50%", "FY2021 old method: 400",
                      "FY2021 TCO: 200"]  # fmt: skip
    assert svg.count('stroke="#c0392b"') == 1 + 2  # the legend's line and one per target
    assert "(Q1-Q2 only)" in svg and ">50.0%<" in svg and ">200<" in svg


def test_category_names_are_escaped_and_the_largest_is_on_top():
    rows = [
        {"criminal_category": "Small <b>&amp;", "dd_non_tco": 1}
        | {c: 0 for c in REASONS} | {"both": 1},
        {"criminal_category": "Large", "dd_non_tco": 9} | {c: 0 for c in REASONS} | {"both": 9},
    ]  # fmt: skip
    svg = category_chart(rows)
    assert "<b>" not in svg and "Small &lt;b&gt;&amp;amp;" in svg
    labels = re.findall(r'text-anchor="end" font-size="12" fill="#222222">([^<]*)<', svg)
    assert labels == ["Large", "Small &lt;b&gt;&amp;amp;"]
    widths = {t: w for _, w, t in _bars(svg) if "Neither prong" in t}
    assert widths["Large, Neither prong: 9"] == 9 * widths["Small <b>&amp;, Neither prong: 1"]
