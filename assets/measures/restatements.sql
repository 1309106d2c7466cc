-- Restatements (assets/measures/restatements.py): which SCRs changed a quarter that was already
-- published, and by how much each published column moved. Which SCR counts in which column is
-- schemas/counting.py (counts_in).

-- name: contributions
-- Every SCR's contribution now, in the columns of published_contributions.
CREATE OR REPLACE TEMP VIEW current_contributions AS
SELECT counted, scr_type, criminal_category, determination, non_tco_reason, fiscal_year,
    fiscal_quarter, source_file, source_row, scr_id
FROM scr_determinations

-- name: pending
-- One row per (published quarter, SCR) whose contribution changed since the last publication.
-- A contribution is nothing when the SCR is not counted, else its (type, category,
-- determination, non-TCO reason, quarter).
WITH prev AS (SELECT * FROM published_contributions),
cur AS (SELECT * FROM current_contributions),
last_pub AS (SELECT refresh_id, published_at FROM publications ORDER BY published_at DESC LIMIT 1),
published AS (SELECT DISTINCT fiscal_year, fiscal_quarter FROM prev WHERE counted),
diff AS (
    SELECT coalesce(p.scr_id, c.scr_id) AS scr_id,
        p.counted AS before_counted, c.counted AS after_counted,
        p.scr_type AS before_scr_type, c.scr_type AS after_scr_type,
        p.criminal_category AS before_criminal_category, c.criminal_category AS after_criminal_category,
        p.determination AS before_determination, c.determination AS after_determination,
        p.non_tco_reason AS before_non_tco_reason, c.non_tco_reason AS after_non_tco_reason,
        p.fiscal_year AS before_fiscal_year, c.fiscal_year AS after_fiscal_year,
        p.fiscal_quarter AS before_fiscal_quarter, c.fiscal_quarter AS after_fiscal_quarter,
        p.source_file AS before_source_file, c.source_file AS after_source_file,
        p.source_row AS before_source_row, c.source_row AS after_source_row
    FROM prev p FULL JOIN cur c USING (scr_id)
    WHERE CASE WHEN coalesce(p.counted, false) THEN (p.scr_type, p.criminal_category,
            p.determination, p.non_tco_reason, p.fiscal_year, p.fiscal_quarter) END
        IS DISTINCT FROM
        CASE WHEN coalesce(c.counted, false) THEN (c.scr_type, c.criminal_category,
            c.determination, c.non_tco_reason, c.fiscal_year, c.fiscal_quarter) END
), quarters AS (
    SELECT d.*, q.fiscal_year, q.fiscal_quarter FROM diff d, LATERAL (
        SELECT DISTINCT * FROM (VALUES
            (CASE WHEN d.before_counted THEN d.before_fiscal_year END,
             CASE WHEN d.before_counted THEN d.before_fiscal_quarter END),
            (CASE WHEN d.after_counted THEN d.after_fiscal_year END,
             CASE WHEN d.after_counted THEN d.after_fiscal_quarter END)
        ) v(fiscal_year, fiscal_quarter) WHERE fiscal_year IS NOT NULL
    ) q
    WHERE EXISTS (SELECT 1 FROM published p
                  WHERE p.fiscal_year = q.fiscal_year AND p.fiscal_quarter = q.fiscal_quarter)
)
SELECT CAST(q.fiscal_year AS INTEGER) AS fiscal_year, CAST(q.fiscal_quarter AS INTEGER) AS fiscal_quarter,
    (SELECT refresh_id FROM last_pub) AS previous_refresh_id,
    (SELECT published_at FROM last_pub) AS previous_published_at,
    CAST($refresh_id AS VARCHAR) AS new_refresh_id, CAST($at AS TIMESTAMP) AS new_refreshed_at,
    q.scr_id,
    coalesce(q.before_counted, false) AS before_counted, coalesce(q.after_counted, false) AS after_counted,
    q.before_scr_type, q.after_scr_type, q.before_criminal_category, q.after_criminal_category,
    q.before_determination, q.after_determination, q.before_non_tco_reason, q.after_non_tco_reason,
    q.before_fiscal_year, q.after_fiscal_year, q.before_fiscal_quarter, q.after_fiscal_quarter,
    coalesce(q.after_source_file, q.before_source_file) AS cause_file,
    CASE WHEN q.after_source_file IS NOT NULL THEN q.after_source_row ELSE q.before_source_row END
        AS cause_row,
    array_to_string(list_filter([
        CASE WHEN q.before_counted IS DISTINCT FROM q.after_counted THEN 'counted' END,
        CASE WHEN q.before_scr_type IS DISTINCT FROM q.after_scr_type THEN 'scr_type' END,
        CASE WHEN q.before_criminal_category IS DISTINCT FROM q.after_criminal_category
            THEN 'criminal_category' END,
        CASE WHEN q.before_determination IS DISTINCT FROM q.after_determination
            THEN 'determination' END,
        CASE WHEN q.before_non_tco_reason IS DISTINCT FROM q.after_non_tco_reason
            THEN 'non_tco_reason' END,
        CASE WHEN q.before_fiscal_year IS DISTINCT FROM q.after_fiscal_year THEN 'fiscal_year' END,
        CASE WHEN q.before_fiscal_quarter IS DISTINCT FROM q.after_fiscal_quarter
            THEN 'fiscal_quarter' END
    ], lambda x: x IS NOT NULL), ', ') AS changed_fields
FROM quarters q
ORDER BY fiscal_year, fiscal_quarter, scr_id

-- name: republishes_the_last
-- True when every SCR's contribution equals the last publication's.
SELECT NOT (EXISTS (SELECT * FROM current_contributions EXCEPT ALL SELECT * FROM published_contributions)
    OR EXISTS (SELECT * FROM published_contributions EXCEPT ALL SELECT * FROM current_contributions))

-- name: column_changes
-- Per restated quarter and measure column ($measures, the quarterly_measures count columns):
-- old -> new value, the SCRs and the files, over the restatement rows in __restated. New values
-- are the current quarterly_measures; old = new minus the change the rows account for (every
-- SCR whose contribution to the quarter changed is among them).
WITH x AS (
    SELECT r.fiscal_year, r.fiscal_quarter, m.measure, r.scr_id, r.cause_file,
        coalesce(r.before_counted AND r.before_fiscal_year = r.fiscal_year
            AND r.before_fiscal_quarter = r.fiscal_quarter
            AND counts_in(m.measure, r.before_scr_type, r.before_determination,
                          r.before_non_tco_reason), false) AS before_in,
        coalesce(r.after_counted AND r.after_fiscal_year = r.fiscal_year
            AND r.after_fiscal_quarter = r.fiscal_quarter
            AND counts_in(m.measure, r.after_scr_type, r.after_determination,
                          r.after_non_tco_reason), false) AS after_in
    FROM __restated r CROSS JOIN (SELECT unnest($measures) AS measure) m
), c AS (
    SELECT fiscal_year, fiscal_quarter, measure,
        count(*) FILTER (after_in) - count(*) FILTER (before_in) AS delta,
        list(DISTINCT scr_id ORDER BY scr_id) FILTER (before_in <> after_in) AS scrs,
        list(DISTINCT cause_file ORDER BY cause_file) FILTER (before_in <> after_in) AS files
    FROM x GROUP BY fiscal_year, fiscal_quarter, measure
), m AS (
    UNPIVOT (SELECT fiscal_year, fiscal_quarter,
            CAST(initial_approved AS BIGINT) AS initial_approved,
            CAST(disruptions AS BIGINT) AS disruptions,
            CAST(dismantlements AS BIGINT) AS dismantlements,
            CAST(dd_total AS BIGINT) AS dd_total, CAST(dd_tco AS BIGINT) AS dd_tco,
            CAST(dd_non_tco AS BIGINT) AS dd_non_tco,
            CAST(dd_undetermined AS BIGINT) AS dd_undetermined,
            CAST(initial_tco AS BIGINT) AS initial_tco
        FROM quarterly_measures)
    ON COLUMNS(* EXCLUDE (fiscal_year, fiscal_quarter)) INTO NAME measure VALUE value
)
SELECT c.fiscal_year, c.fiscal_quarter, c.measure,
    coalesce(m.value, 0) - c.delta AS old_value, coalesce(m.value, 0) AS new_value,
    c.scrs, c.files
FROM c LEFT JOIN m USING (fiscal_year, fiscal_quarter, measure)
WHERE len(c.scrs) > 0
ORDER BY c.fiscal_year, c.fiscal_quarter, list_position($measures, c.measure)
