"""Fixture (Airflow 2): SLAs on two tasks and the DAG's sla_miss_callback, which nothing on Argo enforces."""

import datetime as dt

import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.empty import EmptyOperator


def missed(*args):
    print("sla missed", args)


SLA = {"sla": dt.timedelta(minutes=30)}
if not hasattr(EmptyOperator(task_id="probe"), "sla"):  # Airflow 3 removed SLAs: the DAG still loads
    SLA = {}

with DAG(
    "sla",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="@daily",
    catchup=False,
    **({"sla_miss_callback": missed} if SLA else {}),
):
    EmptyOperator(task_id="extract", **SLA) >> EmptyOperator(task_id="load", **SLA) >> EmptyOperator(task_id="report")
