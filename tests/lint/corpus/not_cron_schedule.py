"""A schedule that is not a cron expression (a timedelta)."""
import datetime as dt

import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow.operators.empty import EmptyOperator

with DAG("every_six_hours", start_date=pendulum.datetime(2024, 1, 1), schedule=dt.timedelta(hours=6)):
    EmptyOperator(task_id="a")
