"""Demo extracts: properties read back from the files with DuckDB, not from the generator."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.demo.catalog import CATEGORIES_CSV
from pipelines.demo.extracts import SCR_COLUMNS, write_demo_extracts

TABLE3 = {2017: 420, 2018: 347, 2019: 322, 2020: 618, 2021: 698, 2022: 1083}
# Table 1's published results for the percent years (disruptions + dismantlements divided by
# approved initial investigations), to 0.1 point; FY2021-FY2022 are Table 3's counts.
TABLE1_PERCENT = {2017: 22.9, 2018: 18.0, 2019: 15.1, 2020: 24.8}
REQUEST_COLUMNS = [
    "request_id", "fiscal_year", "program_office", "title", "amount_usd", "positions",
    "scr_categories", "cites_scr_data", "submitted_date",
]  # fmt: skip
FY = "(year(approved_date::date) + (month(approved_date::date) >= 10)::int)"


def _con(landing: Path) -> duckdb.DuckDBPyConnection:
    """`versions`: every row of every SCR extract; `cur`: the current record of each SCR."""
    con = duckdb.connect()
    con.sql(f"""create table versions as
        select * from read_csv('{landing}/scr_extract_*.csv', all_varchar=true, filename=true)
        union all by name
        select * from read_parquet('{landing}/scr_extract_*.parquet', filename=true)""")
    con.sql("""create view cur as select * from versions qualify row_number() over
        (partition by scr_id order by last_modified_at::timestamp desc, filename desc) = 1""")
    con.sql(f"create view cats as select * from read_csv('{CATEGORIES_CSV}', all_varchar=true)")
    con.sql(f"""create view rr as
        select * from read_csv('{landing}/resource_requests_*.csv', all_varchar=true)""")
    return con


def _rule_breakers(con: duckdb.DuckDBPyConnection) -> set[str]:
    """SCR ids with any version breaking an error rule of the contract."""
    rows = con.sql("""select distinct scr_id from versions where
        scr_type not in ('INITIAL', 'DISRUPTION', 'DISMANTLEMENT')
        or criminal_category not in (select category from cats)
        or status not in ('APPROVED', 'PENDING', 'RETURNED', 'REJECTED', 'WITHDRAWN')
        or field_office is null or case_number is null
        or try_cast(created_at as timestamp) is null
        or try_cast(last_modified_at as timestamp) is null
        or submitted_date::date < created_at::timestamp::date
        or (status = 'APPROVED') <> (approved_date is not null)
        or approved_date::date < submitted_date::date
        or (created_at::timestamp >= '2023-07-18' and tco_involvement is null)
        or coalesce(tco_involvement, 'Y') not in ('Y', 'N')
        or try_cast(coalesce(subject_count, '1') as integer) < 1
        or not regexp_full_match(coalesce(countries, 'US'), '[A-Z]{2}(;[A-Z]{2})*')""")
    return {r[0] for r in rows.fetchall()}


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, duckdb.DuckDBPyConnection]:
    landing = tmp_path_factory.mktemp("full")
    summary = write_demo_extracts(landing, seed=2023, scale=1.0)
    return landing, summary, _con(landing)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, duckdb.DuckDBPyConnection]:
    landing = tmp_path_factory.mktemp("small")
    summary = write_demo_extracts(landing, seed=7, scale=0.05)
    return landing, summary, _con(landing)


def _bytes(landing: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(landing.iterdir())}


def test_same_seed_and_scale_give_identical_bytes(tmp_path: Path) -> None:
    write_demo_extracts(tmp_path / "a", seed=11, scale=0.05)
    write_demo_extracts(tmp_path / "b", seed=11, scale=0.05)
    write_demo_extracts(tmp_path / "c", seed=12, scale=0.05)
    a, b, c = (_bytes(tmp_path / x) for x in "abc")
    assert a == b
    assert a.keys() == c.keys()
    assert all(a[n] != c[n] for n in a if n.startswith("scr_extract_"))


def test_file_names_sort_chronologically(small) -> None:
    landing, summary, _ = small
    names = sorted(p.name for p in landing.iterdir())
    assert set(names) == set(summary["files"])
    scr = [n for n in names if n.startswith("scr_extract_")]
    stamps = [date.fromisoformat(re.search(r"\d{4}-\d{2}-\d{2}", n)[0]) for n in scr]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps) >= 10
    assert sum(n.endswith(".parquet") for n in scr) == 1
    assert [n for n in names if n.startswith("resource_requests_")][0].endswith("2023-01-15.csv")


def test_every_contract_column_present(small) -> None:
    landing, _, con = small
    for path in sorted(landing.glob("scr_extract_*")):
        reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
        cols = [r[0] for r in con.sql(f"describe select * from {reader}('{path}')").fetchall()]
        assert cols == list(SCR_COLUMNS), path.name
    for path in sorted(landing.glob("resource_requests_*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            assert next(csv.reader(fh)) == REQUEST_COLUMNS


def test_scale1_reproduces_the_published_record(full) -> None:
    """Table 3's counts exactly, Table 1's percents to 0.1 point (the audit's population of
    8,275 approved SCRs cannot hold Table 1's denominators too: pipelines/demo/catalog.py)."""
    _, summary, con = full
    valid = "status = 'APPROVED' and scr_id not in (select unnest($ids))"
    ids = {"ids": summary["invalid_scr_ids"]}
    dd = dict(
        con.cursor()
        .execute(
            f"""select {FY}, count(*) from cur where {valid}
        and scr_type in ('DISRUPTION', 'DISMANTLEMENT') group by 1""",
            ids,
        )
        .fetchall()
    )
    initial = dict(
        con.cursor()
        .execute(
            f"""select {FY}, count(*) from cur where {valid} and scr_type = 'INITIAL'
            group by 1""",
            ids,
        )
        .fetchall()
    )
    assert {fy: dd[fy] for fy in TABLE3} == TABLE3
    assert {fy: round(100 * dd[fy] / initial[fy], 1) for fy in TABLE1_PERCENT} == TABLE1_PERCENT
    assert TABLE3[2022] < dd[2023] < dd[2024] < 1.5 * TABLE3[2022]
    assert summary["dd_approved_by_fy"][2020] == dd[2020]


def _failing(con: duckdb.DuckDBPyConnection, ids: list[str]) -> pd.DataFrame:
    """Approved FY2017-FY2022 current SCRs with complete data: the two prongs."""
    return (
        con.cursor()
        .execute(
            f"""select case_number, criminal_category,
            subject_count::int >= 2 as assoc,
            len(list_filter(string_split(countries, ';'), lambda c: c <> 'US')) > 0 as intl
        from cur where status = 'APPROVED' and {FY} between 2017 and 2022
        and subject_count is not null and countries is not null
        and scr_id not in (select unnest($ids))""",
            {"ids": ids},
        )
        .fetchdf()
    )


def test_share_and_mix_of_cases_failing_the_tco_definition(full) -> None:
    _, summary, con = full
    rel = _failing(con, summary["invalid_scr_ids"])  # noqa: F841  (used by name below)
    share = con.sql("""select count(distinct case_number) filter (where not (assoc and intl))
        / count(distinct case_number) from rel""").fetchall()[0][0]
    assert 0.50 <= share <= 0.62
    reasons = dict(
        con.sql("""select case when not assoc and not intl then 'both'
        when not assoc then 'no_association' else 'no_border_crossing' end, count(*)
        from rel where not (assoc and intl) group by 1""").fetchall()
    )
    assert reasons["both"] > 2 * reasons["no_association"]
    assert 0.7 < reasons["no_association"] / reasons["no_border_crossing"] < 1.4
    top = [
        r[0]
        for r in con.sql("""select criminal_category from rel where not (assoc and intl)
        group by 1 order by count(*) desc limit 4""").fetchall()
    ]
    assert top[0] == "Transnational Crimes Against Children"
    assert top[1] == "National Security" and "(Non-Drug-Related)" in top[2]
    assert "(Drug-Related)" in top[3]


def test_some_current_scrs_are_undetermined(full) -> None:
    _, _, con = full
    n = con.sql("""select count(*) from cur where status = 'APPROVED'
        and tco_involvement is null and (subject_count is null or countries is null)""")
    assert 50 <= n.fetchall()[0][0] <= 1500


def test_tco_checkbox_only_from_18_july_2023(full) -> None:
    _, summary, con = full
    early = con.sql("""select count(*) from versions
        where created_at < '2023-07-18' and tco_involvement is not null""").fetchall()[0][0]
    assert early == 0
    missing = {
        r[0]
        for r in con.sql("""select scr_id from versions
        where created_at >= '2023-07-18' and tco_involvement is null""").fetchall()
    }
    assert missing and missing <= set(summary["invalid_scr_ids"])
    [(late,)] = con.sql("select count(*) from versions where created_at >= '2023-07-18'").fetchall()
    assert late > 1000


def test_indicator_conflicts_are_a_handful(full) -> None:
    _, summary, con = full
    rows = con.sql("""select scr_id from cur where tco_involvement is not null
        and subject_count is not null and countries is not null and
        (tco_involvement = 'Y') <> (subject_count::int >= 2
            and len(list_filter(string_split(countries, ';'), lambda c: c <> 'US')) > 0)""")
    conflicts = {r[0] for r in rows.fetchall()} - set(summary["invalid_scr_ids"])
    assert conflicts == set(summary["indicator_conflict_scr_ids"])
    assert 3 <= len(conflicts) <= 30


@pytest.mark.parametrize("which", ["full", "small"])
def test_invalid_rows_are_exactly_the_reported_ones(which: str, request) -> None:
    _, summary, con = request.getfixturevalue(which)
    invalid = summary["invalid_scr_ids"]
    assert len(invalid) >= 3 and (which == "small" or 10 <= len(invalid) <= 20)
    assert _rule_breakers(con) == set(invalid)
    files = (
        con.cursor()
        .execute(
            """select count(distinct filename) from versions
        where scr_id in (select unnest($ids))""",
            {"ids": invalid},
        )
        .fetchall()[0][0]
    )
    assert files >= 3


def test_date_order_and_approval_fields_hold_for_valid_rows(full) -> None:
    _, summary, con = full
    bad = con.cursor().execute("""select count(*) from versions where scr_id not in (select unnest($ids))
        and (created_at::timestamp::date > submitted_date::date
             or approved_date::date < submitted_date::date
             or (approved_date is not null) <> (status = 'APPROVED')
             or last_modified_at::timestamp < created_at::timestamp)""",
        {"ids": summary["invalid_scr_ids"]}).fetchall()[0][0]  # fmt: skip
    assert bad == 0


def test_corrections_reissue_scrs_with_a_later_version(full) -> None:
    _, summary, con = full
    fixed = summary["corrected_scr_ids"]
    late = con.cursor().execute(
        """select scr_id, list(status order by last_modified_at) from versions
        where scr_id in (select unnest($ids)) group by 1""",
        {"ids": fixed["late_approval"]},
    )
    assert all(s[-1] == "APPROVED" and "APPROVED" not in s[:-1] for _, s in late.fetchall())
    moved = con.cursor().execute("""select scr_id, list(approved_date::date order by last_modified_at)
        from versions where scr_id in (select unnest($ids)) and approved_date is not null
        group by 1""", {"ids": fixed["approved_date_fix"]}).fetchall()  # fmt: skip
    assert moved and all(d[-2].month != d[-1].month and d[-2] > d[-1] for _, d in moved)
    returned = con.cursor().execute("""select list(status order by last_modified_at) from versions
        where scr_id in (select unnest($ids)) group by scr_id""",
        {"ids": fixed["returned_resubmitted"]}).fetchall()  # fmt: skip
    assert all(s[0][0] == "RETURNED" and s[0][-1] == "APPROVED" for s in returned)
    in_corr = con.sql("""select count(*) from versions where filename like '%2025-11-18.csv'
        or filename like '%2026-01-13.csv'""").fetchall()[0][0]
    assert in_corr >= sum(len(v) for v in fixed.values())


def test_values_look_like_icm_data(full) -> None:
    _, _, con = full
    cur = con.sql("select * from cur").fetchdf()
    assert cur["case_number"].str.fullmatch(r"[A-Z]{2}\d{2}[A-Z]{2}\d{2}[A-Z]{2}\d{4}").all()
    assert cur["scr_id"].str.fullmatch(r"SCR-20\d\d-\d{6}").all() and cur["scr_id"].is_unique
    offices = cur["field_office"].dropna()
    assert offices.str.startswith("SAC ").all() and 20 <= offices.nunique() <= 30
    labels = set(con.sql("select category from cats").fetchdf()["category"])
    subs = cur[cur["criminal_category"].isin(labels)].groupby("criminal_category")["subcategory"]
    assert len(subs) == 8 and subs.nunique().min() >= 3
    codes = set(cur["countries"].dropna().str.split(";").explode())
    assert {"US", "MX", "CO", "GT", "CN", "PH"} <= codes
    assert cur["created_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d").all()
    approved = cur[cur["status"] == "APPROVED"]
    assert (approved["scr_type"] == "DISMANTLEMENT").groupby(
        approved["case_number"]
    ).sum().max() == 1


def test_resource_requests_match_the_audit(small) -> None:
    _, summary, con = small
    audit = con.sql("select * from rr where fiscal_year::int between 2017 and 2022").fetchdf()
    assert len(audit) == 128 and (audit["cites_scr_data"] == "Y").sum() == 3
    assert audit["request_id"].is_unique and audit["amount_usd"].str.fullmatch(r"\d+\.\d\d").all()
    examples = {("2020", "Cyber Crimes Unit", "8800000.00", "12"),
                ("2020", "Child Exploitation Investigations Unit", "10600000.00", "5"),
                ("2022", "Victim Assistance Program", "3000000.00", "16")}  # fmt: skip
    keys = set(audit[["fiscal_year", "program_office", "amount_usd", "positions"]].itertuples(index=False, name=None))  # fmt: skip
    assert examples <= keys
    later = con.sql("select cites_scr_data from rr where fiscal_year::int > 2022").fetchdf()
    assert len(later) == 40 and (later["cites_scr_data"] == "Y").mean() > 3 / 128
    labels = set(con.sql("select category from cats").fetchdf()["category"])
    used = set(con.sql("select unnest(string_split(scr_categories, ';')) from rr").fetchdf().iloc[:, 0])  # fmt: skip
    assert used and used <= labels
    assert summary["resource_requests"]["citing_fy2017_2022"] == 3


def test_small_scale_is_small_but_complete(small) -> None:
    _, summary, con = small
    per_fy = dict(
        con.sql(f"""select {FY}, count(*) from cur where status = 'APPROVED'
        and scr_type <> 'INITIAL' group by 1""").fetchall()
    )
    assert all(per_fy.get(fy, 0) > 0 for fy in range(2017, 2027))
    # 5% of the 13,536 initial investigations FY2017-FY2022 plus legacy cases: about 690
    assert 600 <= summary["cases_fy2017_2022"] <= 780
    assert summary["dd_approved_by_fy"][2022] == round(1083 * 0.05)


def test_categories_reference_csv_is_quoted_and_complete() -> None:
    with CATEGORIES_CSV.open(newline="", encoding="utf-8") as fh:
        labels = [row["category"] for row in csv.DictReader(fh)]
    assert len(labels) == 8 and "Illicit Trade, Travel, and Finance (Drug-Related)" in labels
