"""Fixture: task ids that need care to become Argo names."""

import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import TaskGroup
except ImportError:
    from airflow.operators.empty import EmptyOperator
    from airflow.utils.task_group import TaskGroup

LONG = "extract_" + "x" * 192  # 200 characters

with DAG(dag_id="Names.Of_Things", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:
    underscore = EmptyOperator(task_id="load_data")
    dash = EmptyOperator(task_id="load-data")
    long = EmptyOperator(task_id=LONG)
    with TaskGroup("stage") as stage:
        inner = EmptyOperator(task_id="clean.up")
    accented = EmptyOperator(task_id="café_été")
    [underscore, dash] >> long >> stage >> accented
