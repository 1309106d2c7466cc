-- Statements of `scr-pipeline findings` (pipelines/cli/findings.py), over all_findings
-- (every finding: assets/_shared/findings.py, with_findings). $rule: a rule id or a prefix of one
-- (scr.approved_date); $file: a landing file name; NULL for either means all.

-- name: summary
SELECT rule_id, severity, source_file, count(*) AS findings,
    count(DISTINCT scr_id) AS scrs
FROM all_findings
WHERE ($rule::VARCHAR IS NULL OR rule_id = $rule OR starts_with(rule_id, $rule || '.'))
  AND ($file::VARCHAR IS NULL OR source_file = $file)
GROUP BY ALL ORDER BY severity, rule_id, source_file;

-- name: detail
SELECT rule_id, source_file, source_row, scr_id, message
FROM all_findings
WHERE ($rule::VARCHAR IS NULL OR rule_id = $rule OR starts_with(rule_id, $rule || '.'))
  AND ($file::VARCHAR IS NULL OR source_file = $file)
ORDER BY source_file, source_row, rule_id
LIMIT $limit;
