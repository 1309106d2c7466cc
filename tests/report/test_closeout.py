"""Closeout evidence (issue 30 item 5): the report's section 8 and the workbook's "Rec" sheets
equal our own count over the demo's landing files, read with DuckDB without the pipeline: the
checkbox on SCRs created since 2023-07-18 by fiscal quarter, and resource requests citing SCR
data by budget year before and after 2024-01-31."""

from __future__ import annotations

import openpyxl
import pytest
from support.project import refresh_in_memory, refreshed_demo

from assets.publish import oao_workbook

FQ = "year({d}) + (month({d}) >= 10)::int, ((month({d}) + 2) % 12) // 3 + 1"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The small demo refreshed (shared with the other modules of this test process: only read)."""
    return refreshed_demo(tmp_path_factory, refresh_in_memory)


def _our_checkbox_count(landing) -> list[tuple]:
    """Current record per SCR (latest last_modified_at), created on or after 2023-07-18."""
    import duckdb

    con = duckdb.connect()
    con.sql(f"""create view versions as
        select * from read_csv('{landing}/scr_extract_*.csv', all_varchar=true)
        union all by name select * from read_parquet('{landing}/scr_extract_*.parquet')""")
    created = "created_at::timestamp"
    return con.sql(f"""
        with cur as (select * from versions qualify row_number() over
            (partition by scr_id order by last_modified_at::timestamp desc) = 1)
        select {FQ.format(d=created)}, count(*), count(*) filter (tco_involvement in ('Y', 'N')),
            count(*) filter (tco_involvement = 'Y')
        from cur where {created} >= timestamp '2023-07-18' group by all order by 1, 2
    """).fetchall()


def _our_request_count(landing) -> list[tuple]:
    import duckdb

    return duckdb.sql(f"""
        with cur as (select * from read_csv('{landing}/resource_requests_*.csv',
            all_varchar=true, filename=true)
            qualify row_number() over (partition by request_id order by filename desc) = 1)
        select fiscal_year::int,
            case when submitted_date::date > date '2024-01-31' then 'after guidance'
                 else 'before guidance' end,
            count(*), count(*) filter (cites_scr_data = 'Y')
        from cur group by all order by 1, 2 desc
    """).fetchall()


def _sheet(site, name: str) -> list[dict]:
    book = openpyxl.load_workbook(site / "output" / oao_workbook.WORKBOOK_PATH)
    rows = list(book[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_checkbox_evidence_equals_our_count(site):
    ours = _our_checkbox_count(site / "landing")
    sheet = _sheet(site, "Rec 1 checkbox")
    got = [
        (r["fiscal_year"], r["fiscal_quarter"], r["scrs_created"], r["checkbox_filled"],
         r["checkbox_yes"])
        for r in sheet
    ]  # fmt: skip
    assert got == ours and len(ours) >= 8  # FY2023 Q4 to FY2026 Q4
    assert all(r["checkbox_share"] == r["checkbox_filled"] / r["scrs_created"] for r in sheet)


def test_request_evidence_equals_our_count(site):
    ours = _our_request_count(site / "landing")
    sheet = _sheet(site, "Rec 3 requests")
    got = [(r["fiscal_year"], r["period"], r["requests"], r["citing_scr_data"]) for r in sheet]
    assert got == ours
    assert {p for _, p, _, _ in ours} == {"before guidance", "after guidance"}


def test_the_report_shows_the_same_evidence(site):
    page = (site / "output" / "report" / "index.html").read_text(encoding="utf-8")
    start = page.index('<section id="closeout">')
    closeout = page[start : page.index("</section>", start)]
    assert "<h2>8. Evidence for closing the three recommendations</h2>" in closeout
    for table_id in ("checkbox", "validation", "requests"):
        assert f'id="closeout-{table_id}-table"' in closeout
    total = sum(r[2] for r in _our_checkbox_count(site / "landing"))
    rows = _sheet(site, "Rec 1 checkbox")
    assert sum(r["scrs_created"] for r in rows) == total
    assert f">{rows[-1]['scrs_created']:,}<" in closeout
