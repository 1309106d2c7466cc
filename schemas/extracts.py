"""The landing-file types of the contract: name pattern, columns, and the raw table they go to.

Column lists mirror ../shared/CONTRACT.md. ``header_required`` are the columns a file must carry
to be read at all (a missing one refuses the file); other columns may be absent (read as empty).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ExtractSpec:
    name: str
    prefix: str
    raw_table: str
    columns: tuple[str, ...]
    header_required: tuple[str, ...]
    record_key: str
    findings_table: str
    rule_prefix: str
    date_columns: tuple[str, ...] = ()
    integer_columns: tuple[str, ...] = ()
    identity_columns: tuple[str, ...] = ()  # compared upper-case (CONTRACT.md, value rules)
    suffixes: tuple[str, ...] = ("csv", "parquet")  # file types a landing file may have

    def matches(self, file_name: str) -> bool:
        kinds = "|".join(map(re.escape, self.suffixes))
        return bool(re.fullmatch(re.escape(self.prefix) + rf".+\.({kinds})", file_name))


SCR = ExtractSpec(
    name="scr_extract",
    prefix="scr_extract_",
    raw_table="raw_scr_versions",
    columns=(
        "scr_id",
        "case_number",
        "scr_type",
        "criminal_category",
        "subcategory",
        "field_office",
        "status",
        "created_at",
        "submitted_date",
        "approved_date",
        "tco_involvement",
        "subject_count",
        "countries",
        "last_modified_at",
    ),
    header_required=(
        "scr_id",
        "case_number",
        "scr_type",
        "criminal_category",
        "field_office",
        "status",
        "created_at",
        "submitted_date",
        "last_modified_at",
    ),
    record_key="scr_id",
    findings_table="scr_findings",
    rule_prefix="scr.",
    date_columns=("submitted_date", "approved_date"),
    integer_columns=("subject_count",),
    identity_columns=("scr_id", "case_number"),
)

RESOURCE_REQUESTS = ExtractSpec(
    name="resource_requests",
    prefix="resource_requests_",
    raw_table="raw_resource_requests",
    columns=(
        "request_id",
        "fiscal_year",
        "program_office",
        "title",
        "amount_usd",
        "positions",
        "scr_categories",
        "cites_scr_data",
        "submitted_date",
    ),
    header_required=(
        "request_id",
        "fiscal_year",
        "program_office",
        "title",
        "amount_usd",
        "positions",
        "cites_scr_data",
        "submitted_date",
    ),
    record_key="request_id",
    findings_table="resource_request_findings",
    rule_prefix="rr.",
    date_columns=("submitted_date",),
    integer_columns=("fiscal_year", "positions"),
)

CASE_REVIEWS = ExtractSpec(
    name="case_reviews",
    prefix="case_reviews_",
    raw_table="raw_case_reviews",
    columns=(
        "case_number",
        "reviewed_on",
        "association_of_individuals",
        "crosses_international_border",
        "notes",
        # optional (CONTRACT turn 4): who reviewed, as which review, and whether the case file
        # could be reviewed at all; a file without them is read as first reviews, REVIEWED
        "reviewer",
        "review_role",
        "review_outcome",
    ),
    header_required=(
        "case_number",
        "reviewed_on",
        "association_of_individuals",
        "crosses_international_border",
    ),
    record_key="case_number",
    findings_table="case_review_findings",
    rule_prefix="cr.",
    date_columns=("reviewed_on",),
    identity_columns=("case_number",),
    suffixes=("csv", "parquet", "xlsx"),  # .xlsx: the filled review worksheet (first sheet)
)

EXTRACTS: tuple[ExtractSpec, ...] = (SCR, RESOURCE_REQUESTS, CASE_REVIEWS)


def spec_for(file_name: str) -> ExtractSpec | None:
    """The extract type a landing file name belongs to, or None."""
    return next((s for s in EXTRACTS if s.matches(file_name)), None)
