"""The stratified validation sample of one fiscal year's published count: frame, strata, plan,
draw, spares and second review (issue 29; arithmetic in :mod:`assets.audit.stratified`).

Why: the published TCO-validated count is a count of *SCRs* of one fiscal year, so its sample is
drawn from those SCRs, stratified by what predicts the analysts' verdict (the automated
determination) and by criminal category. Anyone must be able to redraw it from the documented
rule:

- **frame**: the year's counted disruption/dismantlement SCRs (the ``dd_total`` predicate of
  ``is_dd`` of ``schemas/counting.py``, over ``scr_current``);
- **strata**: determination x criminal category, small cells merged by
  :func:`assets.audit.stratified.merge_strata`;
- **rank**: within a stratum, by the hex SHA-256 of ``"<seed>:<scr_id>"`` (then scr_id); the
  first n_h are the sample, the next K spares, the rest ``none``;
- **second review**: the cases of sampled SCRs ranked by SHA-256 of
  ``"<seed>:second:<case_number>"``; the first ceil(SHARE x cases) are marked.

The draw runs in the ``audit_draw`` job (``assets.audit.sample``); ``audit plan`` only reads.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pyarrow as pa

from assets._shared.errors import PipelineError
from assets._shared.metadata import existing_tables
from assets.audit.stats import _z
from assets.audit.stratified import (
    DEFAULT_RATES,
    DETERMINATIONS,
    JEFFREYS,
    MIN_STRATUM_POPULATION,
    merge_strata,
    plan,
)
from assets.audit.tables import ensure_audit_tables
from schemas.counting import COUNTING_MACROS

FRAME_SQL = """
SELECT s.scr_id, s.case_number, s.determination, s.criminal_category
FROM scr_current s
WHERE s.counted AND is_dd(s.scr_type) AND s.fiscal_year = $fy
    AND s.case_number IS NOT NULL
"""

# The latest sample with reviewed SCRs: per determination, SCRs and those the analysts call TCO.
RATES_SQL = """
SELECT value, sum(scrs) AS n, coalesce(sum(scrs) FILTER (analyst_verdict = 'TCO'), 0) AS x,
    any_value(sample_id) AS sample_id
FROM determination_accuracy
WHERE source = 'determination' AND sample_id = (
    SELECT max(sample_id) FROM determination_accuracy WHERE source = 'determination')
GROUP BY value
"""

RANKED_SQL = """
SELECT f.scr_id, f.case_number, f.determination, f.criminal_category, m.stratum,
    CAST(row_number() OVER (PARTITION BY m.stratum
        ORDER BY sha256(CAST($seed AS VARCHAR) || ':' || f.scr_id), f.scr_id) AS INTEGER) AS rank
FROM __frame f JOIN __strata_map m USING (determination, criminal_category)
"""


def _frame(con: duckdb.DuckDBPyConnection, fiscal_year: int) -> dict[tuple[str, str], int]:
    if "scr_current" not in existing_tables(con):
        raise PipelineError(
            "the warehouse holds no SCRs yet (table scr_current is missing); run "
            "`scr-pipeline refresh` first"
        )
    con.execute(COUNTING_MACROS)  # is_dd, also on a connection the resource did not open
    con.execute(f"CREATE OR REPLACE TEMP TABLE __frame AS {FRAME_SQL}", {"fy": fiscal_year})
    cells = con.execute(
        "SELECT determination, criminal_category, count(*) FROM __frame GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    if not cells:
        raise PipelineError(
            f"FY{fiscal_year} has no counted disruption/dismantlement SCR: nothing to sample"
        )
    return {(d, c): n for d, c, n in cells}


def anticipated_rates(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, float], str]:
    """Per determination: (x + 1/2)/(n + 1) of the latest reviewed sample, else the defaults."""
    rates, source = dict(DEFAULT_RATES), "defaults (no reviewed sample)"
    if "determination_accuracy" in existing_tables(con):
        found = con.execute(RATES_SQL).fetchall()
        for value, n, x, sample_id in found:
            if value in rates and n:
                rates[value] = (x + JEFFREYS) / (n + 2 * JEFFREYS)
                source = f"reviews of audit sample {sample_id}"
    return rates, source


def parse_rate_overrides(items: list[str] | None) -> dict[str, float]:
    """``STRATUM=P`` (a stratum name, or a determination for all its strata) -> {name: P}."""
    out = {}
    for item in items or []:
        name, sep, value = item.rpartition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not sep or not name.strip() or not 0 < rate < 1:
            raise PipelineError(
                f"--rate {item!r}: expected STRATUM=P with P between 0 and 1, e.g. TCO=0.9 or "
                "'NON_TCO / Cyber-Enabled Crime=0.1'"
            )
        out[name.strip()] = rate
    return out


def design(
    con: duckdb.DuckDBPyConnection,
    fiscal_year: int,
    precision: float = 0.05,
    confidence: float = 0.90,
    size: int | None = None,
    rates: dict[str, float] | None = None,
) -> dict:
    """The plan of ``audit plan`` and ``audit draw --design stratified``: strata with N_h,
    anticipated rate and n_h, the expected half-width and interval. Leaves the temp tables
    ``__frame`` and ``__strata_map`` for the draw."""
    cells = _frame(con, fiscal_year)
    names = merge_strata(cells)
    base, source = anticipated_rates(con)
    overrides = rates or {}
    unknown = set(overrides) - set(names.values()) - set(DETERMINATIONS)
    if unknown:
        raise PipelineError(
            f"--rate names no stratum of FY{fiscal_year}: {', '.join(sorted(unknown))} "
            f"(strata: {', '.join(sorted(set(names.values())))})"
        )
    strata: dict[str, dict] = {}
    for (det, cat), n in sorted(cells.items()):
        s = strata.setdefault(names[(det, cat)], {"determination": det, "population": 0})
        s["population"] += n
        s["criminal_category"] = cat if names[(det, cat)].endswith(cat) else "other categories"
    for name, s in strata.items():
        rate = overrides.get(name, overrides.get(s["determination"], base[s["determination"]]))
        s |= {"stratum": name, "anticipated_rate": rate}
    rows = list(strata.values())
    published = sum(n for (det, _), n in cells.items() if det == "TCO")
    target = precision * (published or sum(cells.values()))
    res = plan([r["population"] for r in rows], [r["anticipated_rate"] for r in rows], target,
               confidence, size=size)  # fmt: skip
    z = _z(confidence)
    for r, n in zip(rows, res["sizes"], strict=True):
        big_n, p = r["population"], r["anticipated_rate"]
        var = 0.0 if n >= big_n else big_n * (big_n - n) * p * (1 - p) / max(n - 1, 1)
        r |= {"sample_size": n, "expected_half_width": z * math.sqrt(var)}
    mapping = pa.table(
        {
            "determination": [k[0] for k in names],
            "criminal_category": [k[1] for k in names],
            "stratum": list(names.values()),
        }
    )
    con.register("__mapping", mapping)
    con.execute("CREATE OR REPLACE TEMP TABLE __strata_map AS SELECT * FROM __mapping")
    con.unregister("__mapping")
    expected = res["expected_total"]
    return {
        "fiscal_year": fiscal_year,
        "frame_scrs": sum(cells.values()),
        "published_tco": published,
        "precision": precision,
        "confidence": confidence,
        "target_half_width": target,
        "rates_from": source if not overrides else f"{source}; overridden: {', '.join(overrides)}",
        "merge_below": MIN_STRATUM_POPULATION,
        "sample_size": res["sample_size"],
        "expected_total": expected,
        "expected_half_width": res["expected_half_width"],
        "expected_lower": max(round(expected - res["expected_half_width"]), 0),
        "expected_upper": round(expected + res["expected_half_width"]),
        "strata": rows,
    }


def draw_stratified(
    con: duckdb.DuckDBPyConnection,
    fiscal_year: int,
    seed: int,
    size: int | None = None,
    precision: float = 0.05,
    spares: int = 2,
    second_review: float = 0.0,
    rates: dict[str, float] | None = None,
    run_id: str = "",
) -> dict:
    """Plan, rank, record (audit_samples, audit_sample_strata, audit_sample_frame and the cases of
    sampled and spare SCRs in audit_sample_cases); returns the summary."""
    if spares < 0:
        raise PipelineError(f"--spares must be 0 or more, got {spares}")
    if not 0 <= second_review <= 1:
        raise PipelineError(f"--second-review must be a share between 0 and 1, got {second_review}")
    ensure_audit_tables(con)
    plan_ = design(con, fiscal_year, precision=precision, size=size, rates=rates)
    sizes = pa.table(
        {
            "stratum": [s["stratum"] for s in plan_["strata"]],
            "n_h": [s["sample_size"] for s in plan_["strata"]],
        }
    )
    con.register("__sizes", sizes)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __ranked AS SELECT r.*, CASE WHEN r.rank <= z.n_h "
        f"THEN 'sample' WHEN r.rank <= z.n_h + $spares THEN 'spare' ELSE 'none' END AS role "
        f"FROM ({RANKED_SQL}) r JOIN __sizes z USING (stratum)",
        {"seed": seed, "spares": spares},
    )
    con.unregister("__sizes")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __second AS SELECT case_number FROM ("
        "  SELECT case_number, row_number() OVER (ORDER BY sha256(CAST($seed AS VARCHAR) "
        "  || ':second:' || case_number), case_number) AS k, count(*) OVER () AS cases"
        "  FROM (SELECT DISTINCT case_number FROM __ranked WHERE role = 'sample'))"
        " WHERE k <= ceil($share * cases - 1e-9)",
        {"seed": seed, "share": second_review},
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    con.execute("BEGIN TRANSACTION")
    try:
        sample_id = con.execute(
            "SELECT coalesce(max(sample_id), 0) + 1 FROM audit_samples"
        ).fetchall()[0][0]
        summary = _record(con, sample_id, seed, plan_, spares, now, run_id)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return summary | {"plan": plan_}


CASES_SQL = """
INSERT INTO audit_sample_cases
WITH picked AS (
    SELECT case_number, min(CASE WHEN role = 'sample' THEN 0 ELSE 1 END) AS spare_only,
        min(stratum) AS first_stratum, min(rank) AS first_rank
    FROM audit_sample_frame WHERE sample_id = $sid AND role IN ('sample', 'spare') GROUP BY ALL
), scrs AS (
    SELECT f.case_number, s.scr_id, s.scr_type, s.approved_date, s.criminal_category,
        s.field_office, f.role
    FROM audit_sample_frame f JOIN scr_current s USING (scr_id)
    WHERE f.sample_id = $sid AND f.case_number IN (SELECT case_number FROM picked)
)
SELECT $sid, p.case_number,
    CAST(row_number() OVER (ORDER BY p.spare_only, p.first_stratum, p.first_rank, p.case_number)
        AS INTEGER),
    arg_min(s.criminal_category, (s.approved_date, s.scr_id)),
    arg_min(s.field_office, (s.approved_date, s.scr_id)), count(*),
    list(s.scr_id ORDER BY s.approved_date, s.scr_id),
    list(s.scr_type ORDER BY s.approved_date, s.scr_id),
    list(s.approved_date ORDER BY s.approved_date, s.scr_id),
    string_agg(s.scr_id || ' ' || s.scr_type || ' approved ' || strftime(s.approved_date, '%Y-%m-%d')
        || ' (' || s.role || ')', '; ' ORDER BY s.approved_date, s.scr_id)
FROM picked p JOIN scrs s USING (case_number)
GROUP BY p.case_number, p.spare_only, p.first_stratum, p.first_rank
"""


def _record(con, sample_id: int, seed: int, plan_: dict, spares: int, now, run_id: str) -> dict:
    fy = plan_["fiscal_year"]
    strata = pa.Table.from_pylist(
        [
            {k: s[k] for k in ("stratum", "determination", "criminal_category", "population")}
            | {"sample_size": s["sample_size"], "anticipated_rate": s["anticipated_rate"]}
            for s in plan_["strata"]
        ]
    )
    con.register("__plan_strata", strata)
    con.execute(
        "INSERT INTO audit_sample_strata SELECT ?, stratum, determination, criminal_category, "
        "population, sample_size, least(?, population - sample_size), anticipated_rate "
        "FROM __plan_strata ORDER BY stratum",
        [sample_id, spares],
    )
    con.unregister("__plan_strata")
    con.execute(
        "INSERT INTO audit_sample_frame SELECT ?, r.scr_id, r.case_number, r.stratum, r.rank, "
        "r.role, r.case_number IN (SELECT case_number FROM __second), r.determination, "
        "r.criminal_category FROM __ranked r ORDER BY r.stratum, r.rank",
        [sample_id],
    )
    con.execute(CASES_SQL, {"sid": sample_id})
    cases, scrs, pop_cases, second = con.execute(
        "SELECT count(DISTINCT case_number) FILTER (role = 'sample'), "
        "count(*) FILTER (role = 'sample'), count(DISTINCT case_number), "
        "count(DISTINCT case_number) FILTER (second_review) "
        "FROM audit_sample_frame WHERE sample_id = ?",
        [sample_id],
    ).fetchall()[0]
    con.execute(
        "INSERT INTO audit_samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'stratified', ?, ?)",
        [sample_id, seed, f"FY{fy}", fy, fy, pop_cases, plan_["frame_scrs"], cases, scrs]
        + [now, run_id],
    )
    return {
        "sample_id": int(sample_id),
        "seed": seed,
        "design": "stratified",
        "fiscal_years": f"FY{fy}",
        "population": int(pop_cases),
        "population_scrs": int(plan_["frame_scrs"]),
        "sample_size": int(cases),
        "sample_scrs": int(scrs),
        "strata": len(plan_["strata"]),
        "spares": spares,
        "second_review_cases": int(second),
        "drawn_at": now.isoformat(),
    }


def frame_table(con: duckdb.DuckDBPyConnection, sample_id: int) -> pa.Table:
    """frame.parquet: one row per frame SCR (sample_id lives in the hive path)."""
    return con.sql(
        "SELECT scr_id, case_number, stratum, rank, role, second_review, determination, "
        "criminal_category FROM audit_sample_frame WHERE sample_id = ? ORDER BY stratum, rank",
        params=[sample_id],
    ).to_arrow_table()


def strata_table(con: duckdb.DuckDBPyConnection, sample_id: int) -> pa.Table:
    """strata.parquet: one row per stratum."""
    return con.sql(
        "SELECT stratum, determination, criminal_category, population, sample_size, spares, "
        "anticipated_rate FROM audit_sample_strata WHERE sample_id = ? ORDER BY stratum",
        params=[sample_id],
    ).to_arrow_table()


WORKSHEET_SQL = """
SELECT c.case_number, string_agg(DISTINCT f.stratum, '; ' ORDER BY f.stratum) AS stratum,
    CASE WHEN bool_or(f.role = 'sample') THEN 'N' ELSE 'Y' END AS spare,
    CASE WHEN bool_or(f.second_review) THEN 'Y' ELSE 'N' END AS second_review, c.scrs
FROM audit_sample_cases c
JOIN audit_sample_frame f ON f.sample_id = c.sample_id AND f.case_number = c.case_number
    AND f.role IN ('sample', 'spare')
WHERE c.sample_id = ?
GROUP BY c.case_number, c.scrs, c.draw_order ORDER BY c.draw_order
"""
