# expect: reserved_param.py: DAG param 'run-date' cannot be an Argo workflow parameter .*'run-date' and 'run-id' are bridge's own\); rename the param
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow.operators.empty import EmptyOperator

with DAG("reserved", start_date=pendulum.datetime(2024, 1, 1), schedule=None, params={"run-date": "x"}):
    EmptyOperator(task_id="a")
