""" "What changed since the last publication" right on every publication (issue 30): it said
"This is the first publication" after a second publishing refresh that changed no figure. Each
sentence now names the refresh it is about, so it is true on the first publication and on every
republication after it, and a rebuild from the archive renders the same words."""

from __future__ import annotations

from support.extracts import FILE_A, write_csv


def _changes(project) -> str:
    page = (project.output / "report" / "index.html").read_text(encoding="utf-8")
    start = page.index('<section id="changes">')
    return page[start : page.index("</section>", start)]


def test_a_second_publication_that_changes_nothing_names_the_first(project):
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    project.refresh()
    (first_id,) = project.query("SELECT refresh_id FROM publications")[0]
    said = f"Refresh {first_id} ("
    first = _changes(project)
    assert said in first and "was the first publication" in first
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
    second = _changes(project)
    assert "This is the first publication" not in second
    assert said in second and "no published figure has changed since" in second
    assert project.query("SELECT count(*) FROM publications")[0][0] == 1  # not a publication
