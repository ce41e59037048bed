"""Ids that are equal after sanitising: each gets a hash suffix."""
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow.operators.empty import EmptyOperator

with DAG("Colliding.IDS", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    tasks = [EmptyOperator(task_id=i) for i in ("load_data", "load-data", "load.data", "LOAD_DATA", "airflow-dagrun")]
    tasks[0] >> tasks[1:]
