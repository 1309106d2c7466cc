-- The quarterly and per-category measures (assets/measures/quarterly.py). Which SCR counts in
-- which column is schemas/counting.py (the macros is_counted, is_dd, counts_in); fiscal dates
-- are schemas/fiscal.py's macros. $filtered / $years: only the fiscal years in $years.

-- name: quarter_rows
-- One row per fiscal quarter with any counted SCR.
WITH q AS (
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
    FROM scr_current
    WHERE counted AND (NOT $filtered OR list_contains($years, fiscal_year))
    GROUP BY ALL
), fytd AS (
    SELECT *,
        sum(initial_approved) OVER w AS fytd_initial_approved,
        sum(dd_total) OVER w AS fytd_dd_total,
        sum(dd_tco) OVER w AS fytd_dd_tco,
        sum(initial_tco) OVER w AS fytd_initial_tco
    FROM q
    WINDOW w AS (PARTITION BY fiscal_year ORDER BY fiscal_quarter)
)
SELECT CAST(fiscal_year AS INTEGER) AS fiscal_year, CAST(fiscal_quarter AS INTEGER) AS fiscal_quarter,
    quarter_start(fiscal_year, fiscal_quarter) AS quarter_start,
    quarter_end(fiscal_year, fiscal_quarter) AS quarter_end,
    initial_approved, disruptions, dismantlements, dd_total, dd_tco, dd_non_tco, dd_undetermined,
    initial_tco,
    CAST(fytd_initial_approved AS BIGINT) AS fytd_initial_approved,
    CAST(fytd_dd_total AS BIGINT) AS fytd_dd_total,
    CAST(fytd_dd_tco AS BIGINT) AS fytd_dd_tco,
    CAST(fytd_initial_tco AS BIGINT) AS fytd_initial_tco,
    CASE WHEN fytd_initial_approved > 0 THEN fytd_dd_total / fytd_initial_approved END AS pct_all,
    CASE WHEN fytd_initial_tco > 0 THEN fytd_dd_tco / fytd_initial_tco END AS pct_tco
FROM fytd
ORDER BY fiscal_year, fiscal_quarter

-- name: category_rows
-- Per quarter and criminal category (all $categories, zeros included): the audit's Table 2.
WITH quarters AS (
    SELECT DISTINCT fiscal_year, fiscal_quarter FROM scr_current
    WHERE counted AND (NOT $filtered OR list_contains($years, fiscal_year))
), cats AS (SELECT unnest($categories) AS criminal_category),
dd AS (
    SELECT * FROM scr_current
    WHERE counted AND is_dd(scr_type) AND (NOT $filtered OR list_contains($years, fiscal_year))
)
SELECT CAST(q.fiscal_year AS INTEGER) AS fiscal_year, CAST(q.fiscal_quarter AS INTEGER) AS fiscal_quarter,
    c.criminal_category,
    count(d.scr_id) AS dd_total,
    count(d.scr_id) FILTER (counts_in('dd_tco', d.scr_type, d.determination, d.non_tco_reason))
        AS dd_tco,
    count(d.scr_id) FILTER (counts_in('dd_non_tco', d.scr_type, d.determination, d.non_tco_reason))
        AS dd_non_tco,
    count(d.scr_id) FILTER (counts_in('no_association', d.scr_type, d.determination, d.non_tco_reason))
        AS no_association,
    count(d.scr_id) FILTER (counts_in('no_border_crossing', d.scr_type, d.determination, d.non_tco_reason))
        AS no_border_crossing,
    count(d.scr_id) FILTER (counts_in('both', d.scr_type, d.determination, d.non_tco_reason))
        AS both,
    count(d.scr_id) FILTER (counts_in('indicator_no', d.scr_type, d.determination, d.non_tco_reason))
        AS indicator_no,
    count(d.scr_id) FILTER (counts_in('dd_undetermined', d.scr_type, d.determination, d.non_tco_reason))
        AS dd_undetermined
FROM quarters q CROSS JOIN cats c
LEFT JOIN dd d ON d.fiscal_year = q.fiscal_year AND d.fiscal_quarter = q.fiscal_quarter
    AND d.criminal_category = c.criminal_category
GROUP BY ALL
ORDER BY fiscal_year, fiscal_quarter, criminal_category

-- name: changed_quarters
-- Quarters whose fresh rows (__q_new, __c_new) differ from the stored measures, either way.
SELECT DISTINCT fiscal_year, fiscal_quarter FROM (
    (SELECT * FROM __q_new EXCEPT SELECT * FROM quarterly_measures)
    UNION ALL (SELECT * FROM quarterly_measures EXCEPT SELECT * FROM __q_new)
) UNION
SELECT DISTINCT fiscal_year, fiscal_quarter FROM (
    (SELECT * FROM __c_new EXCEPT SELECT * FROM category_measures)
    UNION ALL (SELECT * FROM category_measures EXCEPT SELECT * FROM __c_new)
)

-- name: present_quarters
-- Quarters with measures now or stored before.
SELECT fiscal_year, fiscal_quarter FROM __q_new UNION
SELECT fiscal_year, fiscal_quarter FROM quarterly_measures
