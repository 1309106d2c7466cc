"""Charts for the quarterly report, drawn with matplotlib and returned as inline SVG text.

Why SVG from matplotlib: the report must open offline and print sharply, so every chart is a
real vector drawing embedded in the HTML (no scripts, no CDN). Figures are built with
``matplotlib.figure.Figure`` directly (no pyplot state, Agg canvas), text stays text
(``svg.fonttype = none``) so the page font applies and the numbers are searchable.
"""

import functools
import io
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

OLD = "#9aa5b1"  # approval-based count: neutral grey
TCO = "#1f4e79"  # TCO-validated: the office's navy
TARGET = "#c0392b"
NON_TCO = "#d98c2b"
UNDETERMINED = "#c9ced6"
REASONS = {
    "no_association": ("No association of individuals", "#e3a34f"),
    "no_border_crossing": ("No border crossing", "#b5651d"),
    "both": ("Neither prong", "#7b3f00"),
    "indicator_no": ("TCO checkbox 'N'", "#8e6c8a"),
}
BASE_RC = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#555555",
    "axes.titleweight": "bold",
    "axes.titlesize": 11,
    "text.parse_math": False,  # category labels may hold '$'
}


def _matplotlib():
    """matplotlib with the Agg canvas, imported when a chart is drawn (~0.4 s of start-up that
    a refresh with nothing to publish, and every other command, does not pay)."""
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")
    return matplotlib


_PROLOG = re.compile(r"^.*?(?=<svg)", re.S)
_RDF = re.compile(r"\s*<metadata>.*?</metadata>", re.S)


def to_svg(fig: "Figure", name: str) -> str:
    """The figure as an ``<svg>`` element (XML prolog, DOCTYPE and RDF block removed)."""
    buf = io.StringIO()
    with _matplotlib().rc_context({**BASE_RC, "svg.hashsalt": name}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = _RDF.sub("", _PROLOG.sub("", buf.getvalue(), count=1), count=1)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{name} chart" ', 1)


def _styled(chart):
    """Run a chart function with the report's style (rcParams apply when axes are created)."""

    @functools.wraps(chart)
    def wrapper(*args, **kwargs):
        with _matplotlib().rc_context(BASE_RC):
            return chart(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float) -> "Figure":
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _count_axis(ax, label: str) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.set_ylabel(label)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)


def _grouped_bars(
    ax, years: list[tuple[int, int]], old: list, tco: list, target: list, pct: bool
) -> None:
    """Old vs TCO-validated bars per (fiscal year, quarters reported); the target as a red line."""
    xs = range(len(years))
    w = 0.38
    scale = 100.0 if pct else 1.0
    old_v = [(v or 0) * scale for v in old]
    tco_v = [(v or 0) * scale for v in tco]
    ax.bar([x - w / 2 for x in xs], old_v, w, color=OLD, label="Old method (approvals)")
    ax.bar([x + w / 2 for x in xs], tco_v, w, color=TCO, label="TCO-validated")
    for x, t in zip(xs, target, strict=True):
        if t is not None:
            ax.hlines(t * scale, x - w - 0.06, x + w + 0.06, color=TARGET, linewidth=2.2)
    ax.plot([], [], color=TARGET, linewidth=2.2, label="Published target")
    for x, v in zip(xs, tco_v, strict=True):
        ax.annotate(
            f"{v:.1f}%" if pct else f"{v:,.0f}",
            (x + w / 2, v),
            ha="center",
            va="bottom",
            fontsize=8,
            color=TCO,
            xytext=(0, 2),
            textcoords="offset points",
        )
    ax.set_xticks(list(xs), [f"FY{y}" + (f"\n(Q1-Q{q} only)" if q < 4 else "")
                             for y, q in years])  # fmt: skip
    ax.set_xlabel("Fiscal year")


@_styled
def annual_chart(rows: list[dict]) -> str:
    """Two panels: the percent years (FY2017-FY2020) and the count years (FY2021 on)."""
    from matplotlib.ticker import PercentFormatter

    pct = [r for r in rows if r["measure_type"] == "percent"]
    cnt = [r for r in rows if r["measure_type"] != "percent"]
    panels = [(p, kind) for p, kind in ((pct, True), (cnt, False)) if p]
    fig = _figure(11, 3.8)
    axes = fig.subplots(1, len(panels), squeeze=False, width_ratios=[len(p) for p, _ in panels])[0]
    for ax, (panel, is_pct) in zip(axes, panels, strict=True):
        _grouped_bars(
            ax,
            [(r["fiscal_year"], r.get("quarters_reported") or 4) for r in panel],
            [r["result_old_method"] for r in panel],
            [r["result_tco_validated"] for r in panel],
            [r["target"] for r in panel],
            is_pct,
        )
        if is_pct:
            ax.set_title("Percent of approved initial investigations")
            ax.set_ylabel("Share of initial investigations (%)")
            ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
            ax.grid(axis="y", color="#e5e7eb", linewidth=0.8)
            ax.set_axisbelow(True)
        else:
            ax.set_title("Count of disruptions and dismantlements")
            _count_axis(ax, "Disruptions + dismantlements (SCRs)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=3, frameon=False, fontsize=9)
    return to_svg(fig, "annual")


@_styled
def quarterly_chart(rows: list[dict]) -> str:
    """Stacked bars per quarter: TCO, non-TCO, undetermined (the whole bar is the old count)."""
    fig = _figure(11, 3.4)
    ax = fig.subplots()
    labels = [f"FY{r['fiscal_year']} Q{r['fiscal_quarter']}" for r in rows]
    xs = list(range(len(rows)))
    bottom = [0] * len(rows)
    for col, color, label in (
        ("dd_tco", TCO, "TCO"),
        ("dd_non_tco", NON_TCO, "Not a TCO"),
        ("dd_undetermined", UNDETERMINED, "Undetermined"),
    ):
        values = [r[col] or 0 for r in rows]
        ax.bar(xs, values, 0.6, bottom=bottom, color=color, label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for x, total in zip(xs, bottom, strict=True):
        ax.annotate(
            f"{total:,}", (x, total), ha="center", va="bottom", fontsize=8, xytext=(0, 2),
            textcoords="offset points",
        )  # fmt: skip
    ax.set_xticks(xs, labels)
    ax.set_xlabel("Fiscal quarter")
    _count_axis(ax, "Disruptions + dismantlements (SCRs)")
    fig.legend(loc="outside upper center", ncols=3, frameon=False, fontsize=9)
    return to_svg(fig, "quarterly")


@_styled
def category_chart(rows: list[dict]) -> str:
    """Horizontal stacked bars: non-TCO disruptions/dismantlements per category, by reason."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    rows = sorted(rows, key=lambda r: r["dd_non_tco"] or 0)
    fig = _figure(11, 0.42 * len(rows) + 1.3)
    ax = fig.subplots()
    ys = list(range(len(rows)))
    left = [0] * len(rows)
    for col, (label, color) in REASONS.items():
        values = [r[col] or 0 for r in rows]
        ax.barh(ys, values, 0.62, left=left, color=color, label=label)
        left = [a + v for a, v in zip(left, values, strict=True)]
    ax.set_yticks(ys, [r["criminal_category"] for r in rows])
    ax.set_xlabel("Disruptions + dismantlements not describing a TCO (SCRs)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(axis="x", color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)
    fig.legend(loc="outside upper center", ncols=4, frameon=False, fontsize=9)
    return to_svg(fig, "category")
