# expect: unknown_trigger_rule.py(:\d+)?: import error: .*'sometimes'.*; fix the error; Airflow itself cannot load this file
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow.operators.empty import EmptyOperator

with DAG("rules", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    EmptyOperator(task_id="a", trigger_rule="sometimes")
