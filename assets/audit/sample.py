"""Audit sample: a reproducible simple random sample of cases for re-running the OIG's test.

Why: the agency must validate its own measure every year the way the auditors did (a random
sample of cases with approved SCRs, each reviewed against the two prongs of the TCO
definition) and anyone must be able to redraw exactly the same sample from its inputs.

The population is every case with at least one *counted* SCR (current record approved and not
quarantined) approved in the chosen fiscal years, taken from ``scr_current``. Cases are ranked
by the hex SHA-256 of ``"<seed>:<case_number>"`` (ties, which do not happen, by case number)
and the first ``size`` are the sample. A hash of a seed fixed in advance is a uniformly random
order, so this is simple random sampling without replacement; it needs no random-number
library, so an auditor can reproduce it in any language, and the same seed and population give
the same cases forever (numpy does not promise stable streams across versions).

The draw is a Dagster job (``audit_draw``) rather than an asset: a refresh materializes every
asset, and a refresh must never draw a new sample. The job records ``audit_samples`` (an
external asset in the graph, upstream of the review validation and the projection).
"""

import datetime as dt
import re
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa

from assets._shared import settings
from assets._shared.errors import PipelineError
from assets._shared.metadata import OWNERS
from assets._shared.resources import FilesResource, WarehouseResource
from assets._shared.tags import WRITER_TAG
from assets.audit.stratified_sample import (
    draw_stratified,
    parse_rate_overrides,
)
from assets.audit.tables import AUDIT_DDL, ensure_audit_tables
from assets.audit.worksheets import SAMPLE_DIR, WORKSHEET_DIR, save_worksheets

__all__ = ["AUDIT_DDL", "SAMPLE_DIR", "WORKSHEET_DIR", "draw_sample", "ensure_audit_tables"]

# One row per population case: category and field office of its first counted SCR in range
# (earliest approval, then scr_id), every counted SCR in range, and its rank for this seed.
POPULATION_SQL = """
WITH scrs AS (
    SELECT case_number, scr_id, scr_type, approved_date, criminal_category, field_office
    FROM scr_current
    WHERE counted AND fiscal_year BETWEEN $fy_from AND $fy_to AND case_number IS NOT NULL
), cases AS (
    SELECT case_number,
        arg_min(criminal_category, (approved_date, scr_id)) AS criminal_category,
        arg_min(field_office, (approved_date, scr_id)) AS field_office,
        count(*) AS scr_count,
        list(scr_id ORDER BY approved_date, scr_id) AS scr_ids,
        list(scr_type ORDER BY approved_date, scr_id) AS scr_types,
        list(approved_date ORDER BY approved_date, scr_id) AS approved_dates,
        string_agg(scr_id || ' ' || scr_type || ' approved ' || strftime(approved_date, '%Y-%m-%d'),
                   '; ' ORDER BY approved_date, scr_id) AS scrs
    FROM scrs GROUP BY case_number
)
SELECT *, row_number() OVER (
        ORDER BY sha256(CAST($seed AS VARCHAR) || ':' || case_number), case_number
    ) AS draw_rank
FROM cases
"""


class DrawConfig(dg.Config):
    """Run config of the ``audit_draw`` job. ``design = 'stratified'`` draws the validation
    sample of one fiscal year's published count (``assets.audit.stratified_sample``): ``size``
    0 means sized by ``precision``; ``rates`` are ``STRATUM=P`` overrides."""

    fiscal_years: str = "2017-2022"
    size: int = 258
    seed: int
    design: str = "simple"
    fiscal_year: int = 0
    precision: float = 0.05
    spares: int = 2
    second_review: float = 0.0
    rates: list[str] = []


def parse_fiscal_years(text: str) -> tuple[int, int]:
    """'2017-2022' or '2023' -> (first, last) fiscal year; a PipelineError says what is wrong."""
    m = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?", text)
    if not m:
        raise PipelineError(f"--fiscal-years must look like 2017-2022 or 2023, got {text!r}")
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if first > last:
        raise PipelineError(f"--fiscal-years {text!r}: the first year is after the last")
    return first, last


def _require_scr_current(con: duckdb.DuckDBPyConnection) -> None:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'scr_current'"
    ).fetchall()[0][0]
    if not found:
        raise PipelineError(
            "the warehouse holds no SCRs yet (table scr_current is missing); put SCR extracts "
            "in the landing dir and run `scr-pipeline refresh` before drawing a sample"
        )


def draw_sample(
    con: duckdb.DuckDBPyConnection, fiscal_years: str, size: int, seed: int, run_id: str = ""
) -> dict:
    """Rank the population for ``seed``, record population and sample; returns the summary."""
    fy_from, fy_to = parse_fiscal_years(fiscal_years)
    if size < 1:
        raise PipelineError(f"--size must be at least 1, got {size}")
    _require_scr_current(con)
    ensure_audit_tables(con)
    params = {"fy_from": fy_from, "fy_to": fy_to, "seed": seed}
    con.execute(f"CREATE OR REPLACE TEMP TABLE __population AS {POPULATION_SQL}", params)
    population, pop_scrs = con.execute(
        "SELECT count(*), coalesce(sum(scr_count), 0) FROM __population"
    ).fetchall()[0]
    label = f"FY{fy_from}" + (f"-FY{fy_to}" if fy_to != fy_from else "")
    if population == 0:
        raise PipelineError(f"no case has a counted (approved, valid) SCR in {label}")
    if size > population:
        raise PipelineError(
            f"--size {size} is larger than the population: only {population:,} case(s) have a "
            f"counted SCR in {label}"
        )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    con.execute("BEGIN TRANSACTION")
    try:
        sample_id = con.execute(
            "SELECT coalesce(max(sample_id), 0) + 1 FROM audit_samples"
        ).fetchall()[0][0]
        con.execute(
            "INSERT INTO audit_sample_population SELECT ?, case_number, criminal_category, "
            "field_office, scr_count, draw_rank FROM __population",
            [sample_id],
        )
        con.execute(
            "INSERT INTO audit_sample_cases SELECT ?, case_number, draw_rank, criminal_category, "
            "field_office, scr_count, scr_ids, scr_types, approved_dates, scrs "
            "FROM __population WHERE draw_rank <= ?",
            [sample_id, size],
        )
        sample_scrs = con.execute(
            "SELECT coalesce(sum(scr_count), 0) FROM __population WHERE draw_rank <= ?", [size]
        ).fetchall()[0][0]
        con.execute(
            "INSERT INTO audit_samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'sha256-rank', ?, ?)",
            [sample_id, seed, label, fy_from, fy_to, population, pop_scrs, size, sample_scrs]
            + [now, run_id],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {
        "sample_id": int(sample_id),
        "seed": seed,
        "fiscal_years": label,
        "population": int(population),
        "population_scrs": int(pop_scrs),
        "sample_size": size,
        "sample_scrs": int(sample_scrs),
        "drawn_at": now.isoformat(),
    }


def sample_cases(con: duckdb.DuckDBPyConnection, sample_id: int) -> pa.Table:
    """The sample's cases in draw order (sample_id lives in the hive path, not the file)."""
    return con.sql(
        "SELECT draw_order, case_number, criminal_category, field_office, scr_count, scr_ids, "
        "scr_types, approved_dates FROM audit_sample_cases WHERE sample_id = ? ORDER BY draw_order",
        params=[sample_id],
    ).to_arrow_table()


def sample_paths(output: Path, sample_id: int) -> dict:
    """Where a sample is published (by assets/publish/outputs.py, after the draw; the
    worksheets there are read-only copies of the ones ``save_worksheets`` writes)."""
    root = output / SAMPLE_DIR
    worksheet = root / WORKSHEET_DIR / f"review_worksheet_sample_{sample_id}"
    return {
        "cases_file": str(root / f"sample_id={sample_id}" / "cases.parquet"),
        "worksheet": str(worksheet.with_suffix(".csv")),
        "worksheet_xlsx": str(worksheet.with_suffix(".xlsx")),
    }


AUDIT_SAMPLES = dg.AssetSpec(
    "audit_samples",
    description="Recorded audit samples (audit_samples, audit_sample_population, "
    "audit_sample_cases): written only by the `audit_draw` job (`scr-pipeline audit draw`), "
    "never by a refresh.",
    kinds={"duckdb"},
    owners=OWNERS,
    group_name="audit",
)


@dg.op(description="Draw and record one reproducible audit sample (published by the publish step).")
def draw_audit_sample(
    context: dg.OpExecutionContext,
    config: DrawConfig,
    warehouse: WarehouseResource,
    files: FilesResource,
) -> dict:
    with warehouse.connect() as con:
        if config.design == "stratified":
            summary = draw_stratified(
                con, config.fiscal_year, config.seed, config.size or None, config.precision,
                config.spares, config.second_review, parse_rate_overrides(config.rates), context.run_id,
            )  # fmt: skip
        else:
            summary = draw_sample(
                con, config.fiscal_years, config.size, config.seed, context.run_id
            )
        summary |= sample_paths(files.output, summary["sample_id"])
        # the ones to fill: where people work, never only inside a release (read-only there)
        summary |= save_worksheets(
            con, summary["sample_id"], settings.path_from_env("SCR_WORKSHEET_DIR")
        )
    context.log.info(
        f"sample {summary['sample_id']}: {summary['sample_size']:,} of {summary['population']:,} "
        f"cases ({summary['fiscal_years']}, seed {summary['seed']}); worksheet {summary['worksheet']}"
    )
    context.log_event(
        dg.AssetMaterialization(
            asset_key="audit_samples",
            description=f"sample {summary['sample_id']} drawn",
            metadata={k: v for k, v in summary.items() if not isinstance(v, dict)},
        )
    )
    return summary


@dg.job(
    name="audit_draw",
    tags=WRITER_TAG,
    description="Draw a reproducible simple random sample of cases for the TCO re-audit "
    "(run config: fiscal_years, size, seed), or with design 'stratified' the validation sample "
    "of one fiscal_year's published count (precision or size, spares, second_review, rates). "
    "Run by `scr-pipeline audit draw`.",
)
def audit_draw_job():
    draw_audit_sample()
