-- The orders of {{ ds }} per region, from inline rows: each task runs in its own pod with its own
-- /tmp, so the query computes everything it needs instead of reading a table another task wrote.
WITH orders (order_id, region, quantity, day) AS (
    VALUES
        (1, 'north', 3, '{{ ds }}'),
        (2, 'north', 1, '{{ ds }}'),
        (3, 'south', 5, '{{ ds }}'),
        (4, 'south', 2, '{{ macros.ds_add(ds, -1) }}')
)
SELECT region, COUNT(*) AS orders, SUM(quantity) AS units
FROM orders
WHERE day = '{{ ds }}' AND quantity >= {{ params.min_quantity }}
GROUP BY region
ORDER BY region
