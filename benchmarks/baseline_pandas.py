"""The baseline: what a user would otherwise write, idiomatic pandas + pandera (pandas backend).

Why: the pipeline should beat the obvious script, not only approach the floor. Same work as
``benchmarks/floor.py``: read every SCR extract, check the contract's error rules with a pandera
``DataFrameSchema`` (lazy, one finding per failed rule), pick the current record per SCR,
quarantine, determine TCO, count per fiscal quarter and per quarter and category, write Parquet.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from schemas.reference import country_codes, criminal_categories

SCR_TYPES = ["INITIAL", "DISRUPTION", "DISMANTLEMENT"]
STATUSES = ["APPROVED", "PENDING", "RETURNED", "REJECTED", "WITHDRAWN"]
CHECKBOX_FROM = pd.Timestamp("2023-07-18")


def read_extracts(landing: Path) -> pd.DataFrame:
    frames = []
    for path in sorted(landing.glob("scr_extract_*.csv")):
        # empty fields are missing values; everything else stays text until parsed
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        df.insert(0, "source_file", path.name)
        df.insert(1, "source_row", np.arange(1, len(df) + 1))
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def parse(df: pd.DataFrame) -> pd.DataFrame:
    def ts(col: str) -> pd.Series:
        return pd.to_datetime(df[col], format="ISO8601", errors="coerce")

    def day(col: str) -> pd.Series:
        return pd.to_datetime(df[col], format="%Y-%m-%d", errors="coerce")

    return df.assign(
        created_ts=ts("created_at"),
        submitted_d=day("submitted_date"),
        approved_d=day("approved_date"),
        last_modified_ts=ts("last_modified_at"),
        subject_count_i=pd.to_numeric(df["subject_count"], errors="coerce"),
    )


def _countries_ok(s: pd.Series) -> pd.Series:
    fmt = s.str.fullmatch(r"[A-Z]{2}(;[A-Z]{2})*", na=True)
    codes = s.str.split(";").explode()
    known = (codes.isna() | codes.isin(list(country_codes()))).groupby(level=0).all()
    return fmt & known


def schema() -> pa.DataFrameSchema:
    """The contract's error rules; pandera names each failed check in failure_cases."""
    opt = {"nullable": True, "required": False}
    return pa.DataFrameSchema(
        {
            "scr_id": pa.Column(str, pa.Check.str_length(1, 40), nullable=False),
            "case_number": pa.Column(str, pa.Check.str_length(1, 40), nullable=False),
            "scr_type": pa.Column(str, pa.Check.isin(SCR_TYPES), nullable=False),
            "criminal_category": pa.Column(
                str, pa.Check.isin(list(criminal_categories())), nullable=False
            ),
            "field_office": pa.Column(str, nullable=False),
            "status": pa.Column(str, pa.Check.isin(STATUSES), nullable=False),
            "created_at": pa.Column(str, nullable=False),
            "submitted_date": pa.Column(str, nullable=False),
            "last_modified_at": pa.Column(str, nullable=False),
            "tco_involvement": pa.Column(str, pa.Check.isin(["Y", "N"]), **opt),
            "countries": pa.Column(str, pa.Check(_countries_ok, name="countries_format"), **opt),
            "subject_count_i": pa.Column(float, pa.Check.ge(1), nullable=True),
        },
        checks=[
            pa.Check(lambda d: d.created_at.isna() | d.created_ts.notna(), name="created_fmt"),
            pa.Check(lambda d: d.submitted_date.isna() | d.submitted_d.notna(), name="subm_fmt"),
            pa.Check(lambda d: d.approved_date.isna() | d.approved_d.notna(), name="appr_fmt"),
            pa.Check(
                lambda d: d.last_modified_at.isna() | d.last_modified_ts.notna(), name="lm_fmt"
            ),
            pa.Check(lambda d: d.subject_count.isna() | d.subject_count_i.notna(), name="subj_int"),
            pa.Check(
                lambda d: ~(d.submitted_d < d.created_ts.dt.normalize()), name="after_created"
            ),
            pa.Check(lambda d: ~(d.approved_d < d.submitted_d), name="after_submitted"),
            pa.Check(
                lambda d: (d.status != "APPROVED") | d.approved_date.notna(), name="appr_required"
            ),
            pa.Check(lambda d: d.approved_date.isna() | (d.status == "APPROVED"), name="appr_only"),
            pa.Check(
                lambda d: ~(d.created_ts >= CHECKBOX_FROM) | d.tco_involvement.notna(),
                name="checkbox_required",
            ),
        ],
        strict=False,
    )


def findings(df: pd.DataFrame) -> pd.DataFrame:
    try:
        schema().validate(df, lazy=True)
        return pd.DataFrame(columns=["index", "check"])
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
    # a DataFrame-level check reports every column of a failing row: one finding per rule
    return fc[fc["index"].notna()].drop_duplicates(["index", "check"])[["index", "check"]]


def current(df: pd.DataFrame, bad_index: pd.Index) -> pd.DataFrame:
    df = df.assign(quarantined=df.index.isin(bad_index), lm=df.last_modified_ts)
    df["lm"] = df["lm"].fillna(pd.Timestamp.max)  # unreadable dates sort as the latest
    cur = (
        df[df.scr_id.notna()]
        .sort_values(["scr_id", "lm", "source_file", "source_row"])
        .drop_duplicates("scr_id", keep="last")
    )
    assoc = cur.subject_count_i >= 2
    codes = cur.countries.str.split(";").explode()
    intl = (codes.notna() & (codes != "US")).groupby(level=0).any()
    testable = cur.subject_count_i.notna() & cur.countries.notna()
    tco = cur.tco_involvement
    cur["determination"] = np.select(
        [cur.quarantined, tco == "N", testable & assoc & intl, testable, tco == "Y"],
        [None, "NON_TCO", "TCO", "NON_TCO", "TCO"],
        "UNDETERMINED",
    )
    cur["non_tco_reason"] = np.select(
        [cur.quarantined, tco == "N", testable & ~assoc & ~intl, testable & ~assoc,
         testable & ~intl],
        [None, "indicator_no", "both", "no_association", "no_border_crossing"],
        None,
    )  # fmt: skip
    cur["counted"] = ~cur.quarantined & (cur.status == "APPROVED") & cur.approved_d.notna()
    cur["is_dd"] = cur.scr_type.isin(["DISRUPTION", "DISMANTLEMENT"])
    d = cur.approved_d
    cur["fiscal_year"] = d.dt.year + (d.dt.month >= 10)
    cur["fiscal_quarter"] = ((d.dt.month + 2) % 12) // 3 + 1
    return cur


def quarterly(cur: pd.DataFrame) -> pd.DataFrame:
    c = cur[cur.counted]
    flags = pd.DataFrame(
        {
            "fiscal_year": c.fiscal_year.astype(int),
            "fiscal_quarter": c.fiscal_quarter.astype(int),
            "initial_approved": c.scr_type == "INITIAL",
            "disruptions": c.scr_type == "DISRUPTION",
            "dismantlements": c.scr_type == "DISMANTLEMENT",
            "dd_total": c.is_dd,
            "dd_tco": c.is_dd & (c.determination == "TCO"),
            "dd_non_tco": c.is_dd & (c.determination == "NON_TCO"),
            "dd_undetermined": c.is_dd & (c.determination == "UNDETERMINED"),
            "initial_tco": (c.scr_type == "INITIAL") & (c.determination == "TCO"),
        }
    )
    q = flags.groupby(["fiscal_year", "fiscal_quarter"]).sum().reset_index()
    for col in ("initial_approved", "dd_total", "dd_tco", "initial_tco"):
        q[f"fytd_{col}"] = q.groupby("fiscal_year")[col].cumsum()
    q["pct_all"] = (q.fytd_dd_total / q.fytd_initial_approved).where(q.fytd_initial_approved > 0)
    q["pct_tco"] = (q.fytd_dd_tco / q.fytd_initial_tco).where(q.fytd_initial_tco > 0)
    return q


def by_category(cur: pd.DataFrame) -> pd.DataFrame:
    dd = cur[cur.counted & cur.is_dd]
    reason = dd.non_tco_reason.fillna(dd.determination)
    table = pd.crosstab([dd.fiscal_year.astype(int), dd.fiscal_quarter.astype(int),
                         dd.criminal_category], reason)  # fmt: skip
    return table.reset_index()


def run(landing: Path, out: Path) -> dict:
    steps, t = {}, time.monotonic()

    def lap(name: str) -> None:
        nonlocal t
        steps[name] = round(time.monotonic() - t, 2)
        t = time.monotonic()

    df = parse(read_extracts(landing))
    lap("read_parse")
    fc = findings(df)
    lap("validate")
    cur = current(df, pd.Index(fc["index"].unique()))
    lap("current_determine")
    out.mkdir(parents=True, exist_ok=True)
    quarterly(cur).to_parquet(out / "quarterly_measures", partition_cols=["fiscal_year"])
    by_category(cur).to_parquet(out / "category_measures", partition_cols=["fiscal_year"])
    rows = df.loc[fc["index"].astype(int), ["scr_id", "case_number", "source_file", "source_row"]]
    rows.assign(rule_id=fc["check"].values).to_parquet(out / "validation_findings.parquet")
    lap("measures_export")
    return {"rows": len(df), "findings": len(fc), "steps_s": steps}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="pandas + pandera baseline for the SCR refresh.")
    parser.add_argument("landing", type=Path, help="directory with scr_extract_*.csv")
    parser.add_argument("out", type=Path, help="output directory for Parquet")
    args = parser.parse_args(argv)
    print(run(args.landing, args.out))


if __name__ == "__main__":
    main()
