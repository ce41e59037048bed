-- The week that contains {{ ds }} (Monday to Sunday), one row per day from a recursive CTE, and a
-- made-up number of units per day; found through the DAG's template_searchpath (include/).
WITH RECURSIVE days (day, n) AS (
    SELECT '{{ week_bounds(ds)[0] }}', 0
    UNION ALL
    SELECT date(day, '+1 day'), n + 1 FROM days WHERE n < 6
)
SELECT '{{ macros.warehouse.fiscal_quarter(ds) }}' AS quarter,
       MIN(day) AS first_day,
       MAX(day) AS last_day,
       COUNT(*) AS days,
       SUM(10 + n * n) AS units
FROM days
