-- The SCR-level determinations (assets/measures/determinations.py): the rows behind every
-- published count, and the recount that checks the measures against them. Which SCR counts in
-- which column is schemas/counting.py (counts_in).

-- name: determination_rows
-- The published columns, in the order of the issue (fiscal_year/quarter are the partition path).
CREATE OR REPLACE TEMP VIEW determination_rows AS
SELECT c.scr_id, c.case_number, c.scr_type, c.criminal_category, c.field_office, c.status,
    c.approved_date, c.counted, c.quarantined, c.quarantine_rules, c.determination,
    c.non_tco_reason, c.tco_involvement, c.indicator_conflict, c.subject_count, c.countries,
    c.last_modified_at, c.source_file, c.source_row, f.content_sha256,
    CAST(c.fiscal_year AS INTEGER) AS fiscal_year, CAST(c.fiscal_quarter AS INTEGER) AS fiscal_quarter
FROM scr_current c LEFT JOIN ingested_files f USING (file_id)
WHERE c.fiscal_year IS NOT NULL  -- an approved date that is a finding has no quarter

-- name: changed_keys
-- Per quarter on each side: rows and one hash of them; any change to any column of any SCR
-- (a corrected field_office too) republishes that quarter.
WITH n AS (
    SELECT fiscal_year, fiscal_quarter, count(*) AS n, bit_xor(hash(t)) AS h
    FROM determination_rows t GROUP BY ALL
), o AS (
    SELECT fiscal_year, fiscal_quarter, count(*) AS n, bit_xor(hash(t)) AS h
    FROM scr_determinations t GROUP BY ALL
)
SELECT coalesce(n.fiscal_year, o.fiscal_year), coalesce(n.fiscal_quarter, o.fiscal_quarter),
    n.fiscal_year IS NOT NULL, (n.n, n.h) IS DISTINCT FROM (o.n, o.h)
FROM n FULL JOIN o USING (fiscal_year, fiscal_quarter)

-- name: quarterly_mismatches
-- Quarters whose quarterly_measures counts differ from a recount of the counted SCR-level rows
-- (a measure row of zeros with no SCR behind it compares 0 with 0: no mismatch).
WITH d AS (
    SELECT fiscal_year, fiscal_quarter,
        count(*) FILTER (counts_in('initial_approved', scr_type, determination, non_tco_reason))
            AS initial_approved,
        count(*) FILTER (counts_in('disruptions', scr_type, determination, non_tco_reason))
            AS disruptions,
        count(*) FILTER (counts_in('dismantlements', scr_type, determination, non_tco_reason))
            AS dismantlements,
        count(*) FILTER (counts_in('dd_total', scr_type, determination, non_tco_reason))
            AS dd_total,
        count(*) FILTER (counts_in('dd_tco', scr_type, determination, non_tco_reason)) AS dd_tco,
        count(*) FILTER (counts_in('dd_non_tco', scr_type, determination, non_tco_reason))
            AS dd_non_tco,
        count(*) FILTER (counts_in('dd_undetermined', scr_type, determination, non_tco_reason))
            AS dd_undetermined,
        count(*) FILTER (counts_in('initial_tco', scr_type, determination, non_tco_reason))
            AS initial_tco
    FROM scr_determinations WHERE counted GROUP BY ALL
), m AS (
    SELECT fiscal_year, fiscal_quarter,
        CAST("initial_approved" AS BIGINT) AS "initial_approved",
        CAST("disruptions" AS BIGINT) AS "disruptions",
        CAST("dismantlements" AS BIGINT) AS "dismantlements",
        CAST("dd_total" AS BIGINT) AS "dd_total",
        CAST("dd_tco" AS BIGINT) AS "dd_tco",
        CAST("dd_non_tco" AS BIGINT) AS "dd_non_tco",
        CAST("dd_undetermined" AS BIGINT) AS "dd_undetermined",
        CAST("initial_tco" AS BIGINT) AS "initial_tco"
    FROM quarterly_measures
)
SELECT fiscal_year, fiscal_quarter,
    coalesce(d."initial_approved", 0) || ' vs ' || coalesce(m."initial_approved", 0) AS "initial_approved",
    coalesce(d."disruptions", 0) || ' vs ' || coalesce(m."disruptions", 0) AS "disruptions",
    coalesce(d."dismantlements", 0) || ' vs ' || coalesce(m."dismantlements", 0) AS "dismantlements",
    coalesce(d."dd_total", 0) || ' vs ' || coalesce(m."dd_total", 0) AS "dd_total",
    coalesce(d."dd_tco", 0) || ' vs ' || coalesce(m."dd_tco", 0) AS "dd_tco",
    coalesce(d."dd_non_tco", 0) || ' vs ' || coalesce(m."dd_non_tco", 0) AS "dd_non_tco",
    coalesce(d."dd_undetermined", 0) || ' vs ' || coalesce(m."dd_undetermined", 0) AS "dd_undetermined",
    coalesce(d."initial_tco", 0) || ' vs ' || coalesce(m."initial_tco", 0) AS "initial_tco"
FROM d FULL JOIN m USING (fiscal_year, fiscal_quarter)
WHERE coalesce(d."initial_approved", 0) <> coalesce(m."initial_approved", 0)
    OR coalesce(d."disruptions", 0) <> coalesce(m."disruptions", 0)
    OR coalesce(d."dismantlements", 0) <> coalesce(m."dismantlements", 0)
    OR coalesce(d."dd_total", 0) <> coalesce(m."dd_total", 0)
    OR coalesce(d."dd_tco", 0) <> coalesce(m."dd_tco", 0)
    OR coalesce(d."dd_non_tco", 0) <> coalesce(m."dd_non_tco", 0)
    OR coalesce(d."dd_undetermined", 0) <> coalesce(m."dd_undetermined", 0)
    OR coalesce(d."initial_tco", 0) <> coalesce(m."initial_tco", 0)
ORDER BY ALL

-- name: category_mismatches
-- The same for category_measures, per quarter and criminal category.
WITH d AS (
    SELECT fiscal_year, fiscal_quarter, criminal_category,
        count(*) FILTER (counts_in('dd_total', scr_type, determination, non_tco_reason))
            AS dd_total,
        count(*) FILTER (counts_in('dd_tco', scr_type, determination, non_tco_reason)) AS dd_tco,
        count(*) FILTER (counts_in('dd_non_tco', scr_type, determination, non_tco_reason))
            AS dd_non_tco,
        count(*) FILTER (counts_in('no_association', scr_type, determination, non_tco_reason))
            AS no_association,
        count(*) FILTER (counts_in('no_border_crossing', scr_type, determination, non_tco_reason))
            AS no_border_crossing,
        count(*) FILTER (counts_in('both', scr_type, determination, non_tco_reason)) AS both,
        count(*) FILTER (counts_in('indicator_no', scr_type, determination, non_tco_reason))
            AS indicator_no,
        count(*) FILTER (counts_in('dd_undetermined', scr_type, determination, non_tco_reason))
            AS dd_undetermined
    FROM scr_determinations WHERE counted GROUP BY ALL
), m AS (
    SELECT fiscal_year, fiscal_quarter, criminal_category,
        CAST("dd_total" AS BIGINT) AS "dd_total",
        CAST("dd_tco" AS BIGINT) AS "dd_tco",
        CAST("dd_non_tco" AS BIGINT) AS "dd_non_tco",
        CAST("no_association" AS BIGINT) AS "no_association",
        CAST("no_border_crossing" AS BIGINT) AS "no_border_crossing",
        CAST("both" AS BIGINT) AS "both",
        CAST("indicator_no" AS BIGINT) AS "indicator_no",
        CAST("dd_undetermined" AS BIGINT) AS "dd_undetermined"
    FROM category_measures
)
SELECT fiscal_year, fiscal_quarter, criminal_category,
    coalesce(d."dd_total", 0) || ' vs ' || coalesce(m."dd_total", 0) AS "dd_total",
    coalesce(d."dd_tco", 0) || ' vs ' || coalesce(m."dd_tco", 0) AS "dd_tco",
    coalesce(d."dd_non_tco", 0) || ' vs ' || coalesce(m."dd_non_tco", 0) AS "dd_non_tco",
    coalesce(d."no_association", 0) || ' vs ' || coalesce(m."no_association", 0) AS "no_association",
    coalesce(d."no_border_crossing", 0) || ' vs ' || coalesce(m."no_border_crossing", 0) AS "no_border_crossing",
    coalesce(d."both", 0) || ' vs ' || coalesce(m."both", 0) AS "both",
    coalesce(d."indicator_no", 0) || ' vs ' || coalesce(m."indicator_no", 0) AS "indicator_no",
    coalesce(d."dd_undetermined", 0) || ' vs ' || coalesce(m."dd_undetermined", 0) AS "dd_undetermined"
FROM d FULL JOIN m USING (fiscal_year, fiscal_quarter, criminal_category)
WHERE coalesce(d."dd_total", 0) <> coalesce(m."dd_total", 0)
    OR coalesce(d."dd_tco", 0) <> coalesce(m."dd_tco", 0)
    OR coalesce(d."dd_non_tco", 0) <> coalesce(m."dd_non_tco", 0)
    OR coalesce(d."no_association", 0) <> coalesce(m."no_association", 0)
    OR coalesce(d."no_border_crossing", 0) <> coalesce(m."no_border_crossing", 0)
    OR coalesce(d."both", 0) <> coalesce(m."both", 0)
    OR coalesce(d."indicator_no", 0) <> coalesce(m."indicator_no", 0)
    OR coalesce(d."dd_undetermined", 0) <> coalesce(m."dd_undetermined", 0)
ORDER BY ALL
