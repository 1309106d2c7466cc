"""SCR findings: every SCR version checked against the rule catalogue (schemas/scr_extract.py,
schemas/reference/scr_rules.csv); a failure is a finding naming file, row, column and rule."""

import schemas.scr_extract
from assets._shared.validation import findings_asset
from schemas.extracts import SCR

scr_findings = findings_asset(
    name="scr_findings",
    spec=SCR,
    module=schemas.scr_extract,
    schema=schemas.scr_extract.scr_version_schema,
    view="scr_versions",
    deps=["raw_scr_versions"],
    description="One row per failed rule per SCR version (pandera checks named by rule_id). "
    "The rule catalogue (schemas/reference/scr_rules.csv) is in this asset's metadata.",
)
