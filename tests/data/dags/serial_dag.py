"""Fixture: depends_on_past serialises the runs of a DAG (an Argo mutex), whatever max_active_runs says."""

import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.empty import EmptyOperator

with DAG(
    dag_id="serial",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="@daily",
    max_active_runs=3,
) as dag:
    first = EmptyOperator(task_id="first")
    incremental = EmptyOperator(task_id="incremental", depends_on_past=True)
    first >> incremental
