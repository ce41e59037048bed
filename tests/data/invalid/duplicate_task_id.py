# expect: duplicate_task_id.py(:\d+)?: import error: [\w.]*DuplicateTaskIdFound: Task id 'same' has already been added to the (DAG|Dag); fix the error
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow.operators.empty import EmptyOperator

with DAG("duplicate", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    EmptyOperator(task_id="same")
    EmptyOperator(task_id="same")
