-- The annual measure (assets/measures/annual.py): one row per fiscal year from quarterly_measures
-- against the targets file $targets (schemas/reference/annual_targets.csv): percent through
-- FY2020, count from FY2021, by the old method and the TCO-validated one.

-- name: annual_rows
WITH agg AS (
    SELECT fiscal_year, count(*) AS quarters_reported,
        sum(initial_approved) AS initial_approved, sum(dd_total) AS dd_total,
        sum(dd_tco) AS dd_tco, sum(initial_tco) AS initial_tco
    FROM quarterly_measures GROUP BY ALL
), t AS (SELECT * FROM read_csv($targets, header = true, all_varchar = true)),
fy AS (
    SELECT agg.*,
        coalesce(t.measure_type, CASE WHEN agg.fiscal_year <= 2020 THEN 'percent' ELSE 'count' END)
            AS measure_type,
        TRY_CAST(t.target AS DOUBLE) AS target,
        TRY_CAST(t.reported_result AS DOUBLE) AS reported_result
    FROM agg LEFT JOIN t ON CAST(t.fiscal_year AS INTEGER) = agg.fiscal_year
), res AS (
    SELECT *,
        CASE WHEN measure_type = 'percent' THEN
            CASE WHEN initial_approved > 0 THEN dd_total / initial_approved END
            ELSE dd_total END AS result_old_method,
        CASE WHEN measure_type = 'percent' THEN
            CASE WHEN initial_tco > 0 THEN dd_tco / initial_tco END
            ELSE dd_tco END AS result_tco_validated
    FROM fy
)
SELECT CAST(fiscal_year AS INTEGER) AS fiscal_year, measure_type, target, reported_result,
    CAST(quarters_reported AS INTEGER) AS quarters_reported,
    CAST(initial_approved AS BIGINT) AS initial_approved, CAST(dd_total AS BIGINT) AS dd_total,
    CAST(initial_tco AS BIGINT) AS initial_tco, CAST(dd_tco AS BIGINT) AS dd_tco,
    CAST(result_old_method AS DOUBLE) AS result_old_method,
    CAST(result_tco_validated AS DOUBLE) AS result_tco_validated,
    CASE WHEN target IS NULL OR result_old_method IS NULL THEN NULL
         ELSE result_old_method >= target END AS met_target_old_method,
    CASE WHEN target IS NULL OR result_tco_validated IS NULL THEN NULL
         ELSE result_tco_validated >= target END AS met_target_tco_validated
FROM res
ORDER BY fiscal_year
