"""Nested task groups (ids with dots) and wide fan-out/fan-in."""
import pendulum
from airflow import DAG

try:
    from airflow.sdk import TaskGroup
except ImportError:  # Airflow 2
    from airflow.utils.task_group import TaskGroup

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow.operators.empty import EmptyOperator

with DAG("grouped", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    start, end = EmptyOperator(task_id="start"), EmptyOperator(task_id="end")
    with TaskGroup("outer"):
        with TaskGroup("inner"):
            middle = [EmptyOperator(task_id=f"m{n}") for n in range(20)]
    start >> middle >> end
