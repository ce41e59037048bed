"""Task ids that begin with a digit: Argo refuses DAG task names starting with a digit."""
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow.operators.empty import EmptyOperator

with DAG("digits", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    EmptyOperator(task_id="1_extract") >> EmptyOperator(task_id="2_load")
