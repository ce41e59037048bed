-- Customers active on or before {{ ds }}, segmented by total spend ({{ params.vip_spend }} or more: vip).
WITH spend (customer, amount, day) AS (
    VALUES
        ('ada', 120, '2023-12-30'),
        ('ada', 40, '{{ ds }}'),
        ('bob', 35, '2023-12-31'),
        ('cy', 80, '{{ ds }}'),
        ('dee', 15, '{{ ds }}'),
        ('eve', 300, '{{ macros.ds_add(ds, 1) }}')
),
totals AS (
    SELECT customer, SUM(amount) AS total FROM spend WHERE day <= '{{ ds }}' GROUP BY customer
)
SELECT CASE WHEN total >= {{ params.vip_spend }} THEN 'vip'
            WHEN total >= 30 THEN 'regular'
            ELSE 'occasional' END AS segment,
       COUNT(*) AS customers,
       SUM(total) AS spend
FROM totals
GROUP BY segment
ORDER BY segment
