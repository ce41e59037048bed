"""A DAG with DAG-level callbacks (a list and a callable), a param and a dagrun_timeout: the Workflow gets an exit handler."""

from __future__ import annotations

import datetime as dt

from airflow import DAG

try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator


def notify(context):
    print("dag callback", context["reason"], context["dag_run"].state)


with DAG(
    dag_id="callbacks_dag",
    start_date=dt.datetime(2024, 1, 1),
    schedule=None,
    params={"limit": 3},
    dagrun_timeout=dt.timedelta(minutes=30),
    on_success_callback=notify,
    on_failure_callback=[notify],
):
    BashOperator(task_id="extract", bash_command="echo extract") >> BashOperator(task_id="load_data", bash_command="echo load")
