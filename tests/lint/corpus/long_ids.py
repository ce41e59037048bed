"""250-character ids, Airflow's maximum, for the DAG and its tasks."""
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow.operators.empty import EmptyOperator

with DAG("d" * 250, start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    first = EmptyOperator(task_id="t" * 250)
    second = EmptyOperator(task_id="t" * 249 + "u")
    first >> second
