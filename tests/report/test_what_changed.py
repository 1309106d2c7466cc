""" "What changed since the last publication" on every publication (issue 30): a second publishing
refresh that changes no published figure says so and names the previous publication; it never
says "This is the first publication" again."""

from __future__ import annotations

from support.extracts import FILE_A, write_csv

FIRST = "This is the first publication"


def _changes(project) -> str:
    page = (project.output / "report" / "index.html").read_text(encoding="utf-8")
    start = page.index('<section id="changes">')
    return page[start : page.index("</section>", start)]


def test_a_second_publication_that_changes_nothing_names_the_previous_one(project):
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    project.refresh()
    assert FIRST in _changes(project)
    (first_id,) = project.query("SELECT refresh_id FROM publications")[0]
    # a second publishing refresh: a resource request file changes no SCR's contribution
    (project.landing / "resource_requests_2024-02-01.csv").write_text(
        "request_id,fiscal_year,program_office,title,amount_usd,positions,cites_scr_data,"
        "scr_categories,submitted_date\r\n"
        "RR-1,2025,Gang Unit,Task forces,1000000.00,2,N,Transnational Gangs,2024-01-15\r\n",
        encoding="utf-8",
    )
    project.refresh()
    page = (project.output / "report" / "index.html").read_text("utf-8")
    assert "No resource request extract has landed yet." not in page  # it was published
    section = _changes(project)
    assert FIRST not in section
    assert f"No published figure changed since the previous publication (refresh {first_id}" in (
        section
    )
