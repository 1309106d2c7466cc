"""The counting rules, written once: which SCR counts, and in which published column.

Why: a count is published from several places (the quarterly and category measures, the
SCR-level recount that checks them, the restatements, the audit frames, ``scr-pipeline
explain``, the bare-DuckDB floor). Each used to spell the predicates itself; a change to one
and not the others is a wrong published number. Here they are DuckDB macros, created on every
warehouse connection with ``schemas.fiscal.SQL_MACROS`` (``assets._shared.resources``), so SQL
reads ``WHERE counted AND is_dd(scr_type)`` with nothing formatted in. ``tests/measures/
test_counting.py`` pins every macro by hand and greps the tree so each literal appears here only.

- ``is_counted(quarantined, status, approved_date)``: the SCR counts (not quarantined, approved,
  with an approval date). ``scr_current.counted`` is this.
- ``is_dd(scr_type)``: a disruption or a dismantlement (the measure's numerator).
- ``is_tco(determination)``, ``is_undetermined(determination)``: the determination.
- ``counts_in(measure, scr_type, determination, non_tco_reason)``: a counted SCR is in the
  published column ``measure`` (one of ``QUARTERLY_COLUMNS`` or ``CATEGORY_COLUMNS``); NULL for
  another name. With ``measure`` a constant DuckDB folds the CASE away.
"""

from __future__ import annotations

# The quarterly_measures count columns, in their published order.
QUARTERLY_COLUMNS = (
    "initial_approved", "disruptions", "dismantlements", "dd_total", "dd_tco", "dd_non_tco",
    "dd_undetermined", "initial_tco",
)  # fmt: skip
# The category_measures count columns (disruptions + dismantlements), in their published order.
CATEGORY_COLUMNS = (
    "dd_total", "dd_tco", "dd_non_tco", "no_association", "no_border_crossing", "both",
    "indicator_no", "dd_undetermined",
)  # fmt: skip

COUNTING_MACROS = """
CREATE OR REPLACE TEMP MACRO is_counted(quarantined, status, approved_date) AS
    NOT quarantined AND status = 'APPROVED' AND approved_date IS NOT NULL;
CREATE OR REPLACE TEMP MACRO is_initial(scr_type) AS scr_type = 'INITIAL';
CREATE OR REPLACE TEMP MACRO is_dd(scr_type) AS scr_type IN ('DISRUPTION', 'DISMANTLEMENT');
CREATE OR REPLACE TEMP MACRO is_tco(determination) AS determination = 'TCO';
CREATE OR REPLACE TEMP MACRO is_undetermined(determination) AS determination = 'UNDETERMINED';
CREATE OR REPLACE TEMP MACRO counts_in(measure, scr_type, determination, non_tco_reason) AS
    CASE measure
        WHEN 'initial_approved' THEN is_initial(scr_type)
        WHEN 'disruptions' THEN scr_type = 'DISRUPTION'
        WHEN 'dismantlements' THEN scr_type = 'DISMANTLEMENT'
        WHEN 'dd_total' THEN is_dd(scr_type)
        WHEN 'dd_tco' THEN is_dd(scr_type) AND is_tco(determination)
        WHEN 'dd_non_tco' THEN is_dd(scr_type) AND determination = 'NON_TCO'
        WHEN 'dd_undetermined' THEN is_dd(scr_type) AND is_undetermined(determination)
        WHEN 'initial_tco' THEN is_initial(scr_type) AND is_tco(determination)
        WHEN 'no_association' THEN is_dd(scr_type) AND non_tco_reason = 'no_association'
        WHEN 'no_border_crossing' THEN is_dd(scr_type) AND non_tco_reason = 'no_border_crossing'
        WHEN 'both' THEN is_dd(scr_type) AND non_tco_reason = 'both'
        WHEN 'indicator_no' THEN is_dd(scr_type) AND non_tco_reason = 'indicator_no'
    END;
"""
