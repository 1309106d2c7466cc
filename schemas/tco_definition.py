"""The TCO definition, as the audit states it, and the indicator conflict: one place.

A transnational criminal organization is an association of individuals (two or more subjects,
``subject_count >= 2``) AND activity crossing an international border (a country other than
the US in ``countries``). Where an SCR carries both fields the definition decides; where it
does not, the TCO-involvement checkbox decides (``Y`` TCO, ``N`` not); with neither the SCR is
UNDETERMINED. The checkbox ``N`` is always taken at its word (the agent says "not a TCO").

An *indicator conflict* is a checkbox that disagrees with a testable definition: rule
``scr.tco_involvement.conflict`` of the catalogue (a warning, reported with the current SCR).

These are SQL expressions over the typed current record (``subject_count_i``, ``countries``,
``tco_involvement``, ``quarantined``); ``assets/scr/determine.py`` evaluates them once per SCR.
"""

from __future__ import annotations

ASSOCIATION_SQL = "subject_count_i >= 2"
INTERNATIONAL_SQL = "len(list_filter(string_split(countries, ';'), lambda c: c <> 'US')) > 0"
# the definition can be tested only when both fields are there
TESTABLE_SQL = "subject_count_i IS NOT NULL AND countries IS NOT NULL"

# over the columns association, international, definition_testable made from the three above
DETERMINATION_SQL = """CASE WHEN quarantined THEN NULL
         WHEN tco_involvement = 'N' THEN 'NON_TCO'
         WHEN definition_testable THEN CASE WHEN association AND international THEN 'TCO' ELSE 'NON_TCO' END
         WHEN tco_involvement = 'Y' THEN 'TCO'
         ELSE 'UNDETERMINED' END"""
NON_TCO_REASON_SQL = """CASE WHEN quarantined THEN NULL
         WHEN tco_involvement = 'N' THEN 'indicator_no'
         WHEN definition_testable AND NOT (association AND international) THEN
            CASE WHEN NOT association AND NOT international THEN 'both'
                 WHEN NOT association THEN 'no_association' ELSE 'no_border_crossing' END
         END"""
INDICATOR_CONFLICT_RULE = "scr.tco_involvement.conflict"
INDICATOR_CONFLICT_SQL = """coalesce(NOT quarantined AND tco_involvement IS NOT NULL AND definition_testable
             AND (tco_involvement = 'Y') <> (association AND international), false)"""
