"""Fixture: Airflow's concurrency guard rails (pools, max_active_runs, max_active_tis_per_dag) on one DAG."""

import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.bash import BashOperator
    from airflow.operators.empty import EmptyOperator

with DAG(
    dag_id="concurrency",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="0 6 * * *",
    max_active_runs=3,
) as dag:
    # Four calls to a rate-limited API: at most the pool's slots run at once, across all runs and DAGs.
    fetches = [BashOperator(task_id=f"fetch_{i}", bash_command="sleep 1", pool="api") for i in range(4)]
    # Heavy load: one at a time across runs, and it takes two slots of the warehouse pool in Airflow.
    load = EmptyOperator(task_id="load", pool="warehouse", pool_slots=2, max_active_tis_per_dag=1)
    # Airflow's default pool and a per-task limit only.
    report = EmptyOperator(task_id="report", max_active_tis_per_dag=2)
    fetches >> load >> report
