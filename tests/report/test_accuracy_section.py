"""The report's accuracy section on hand-made rows: headings, formats, the empty state, and that
data values are escaped. (The section on a real refresh: tests/audit/test_determination_accuracy.py.)"""

from assets.report.accuracy import accuracy_section

AGREEMENT = {
    "sample_id": 2, "fiscal_year": None, "source": "checkbox", "compared": 1234,
    "not_compared": 56, "agreement": 0.9123, "tco_rejected": 0.05, "non_tco_accepted": None,
    "kappa": 0.4567,
}  # fmt: skip
ESTIMATE = {
    "sample_id": 2, "fiscal_year": 2024, "dd_total": 12345, "dd_tco_published": 10000,
    "reviewed_cases": 258, "estimate": 9876, "lower_bound": 9500, "upper_bound": 10250,
    "note": "<b>x</b>",
}  # fmt: skip


def test_section_formats_percent_kappa_and_thousands():
    page = accuracy_section({"agreement": [AGREEMENT], "estimates": [ESTIMATE]})
    for text in ("all years", "Checkbox", "1,234", "91.2%", "5.0%", "0.46", "12,345", "9,876",
                 "9,500", "10,250", "&lt;b&gt;x&lt;/b&gt;"):  # fmt: skip
        assert text in page, text
    assert "<b>x</b>" not in page
    assert '<section id="accuracy">' in page


def test_section_says_when_nothing_is_reviewed_yet():
    page = accuracy_section({"agreement": [], "estimates": []})
    assert "No case of the recorded audit samples has a valid review yet" in page
    assert "<table" not in page
