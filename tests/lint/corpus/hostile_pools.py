"""Hostile but valid: pool names Kubernetes cannot spell (Airflow 2 allows word characters, "." and "-"), and limits on very long task ids."""

import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.empty import EmptyOperator

with DAG(dag_id="hostile_pools", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None, max_active_runs=5) as dag:
    EmptyOperator(task_id="spaces", pool="API.Pool_v2")
    EmptyOperator(task_id="unicode", pool="Café_pool")
    EmptyOperator(task_id="long_pool", pool="p" * 250)
    EmptyOperator(task_id="x" * 250, pool="API.Pool_v2", max_active_tis_per_dag=3)
    EmptyOperator(task_id="digits", pool="2024", max_active_tis_per_dag=1)
