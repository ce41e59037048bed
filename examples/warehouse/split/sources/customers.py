"""Customer segments, written with the TaskFlow API: a SQL template segments customers, a mapped
task scores each segment, and a final task picks the best one.

`sql/customer_segments.sql` takes its threshold from the DAG's params and its day from `{{ ds }}`.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2
    from airflow.decorators import dag, task  # type: ignore[no-redef]


@dag(
    dag_id="warehouse_customers",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="@daily",
    catchup=False,
    params={"vip_spend": 100},
    tags=["warehouse"],
)
def warehouse_customers():
    segments = SQLExecuteQueryOperator(
        task_id="segments", conn_id="warehouse_db", sql="sql/customer_segments.sql",
    )

    @task
    def score(row: list) -> dict:
        """One segment's score: spend per customer."""
        segment, customers, spend = row
        return {"segment": segment, "score": round(spend / customers, 2)}

    @task
    def best(scores: list) -> str:
        """The segment with the highest score."""
        top = max(scores, key=lambda s: s["score"])
        print(f"best segment: {top['segment']} ({top['score']})")
        return top["segment"]

    best(score.expand(row=segments.output))


warehouse_customers()
