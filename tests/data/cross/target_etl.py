"""The DAG tests/data/cross/triggers.py starts: its params are what a trigger's conf may set."""

import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:
    from airflow.operators.bash import BashOperator

with DAG("target_etl", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None,
         params={"table": "sales", "limit": 100}) as dag:
    BashOperator(task_id="load", bash_command="echo loading {{ params.table }} limit {{ params.limit }}")
