"""Non-ASCII ids (Airflow accepts Unicode word characters)."""
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow.operators.empty import EmptyOperator

with DAG("données_été", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    EmptyOperator(task_id="café") >> EmptyOperator(task_id="データ") >> EmptyOperator(task_id="ok")
