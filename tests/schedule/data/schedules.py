"""DAGs whose schedules bridge must date exactly as Airflow does (tests/schedule)."""

import datetime as dt

import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow.operators.empty import EmptyOperator

START = dt.datetime(2024, 1, 1)
DAGS = {
    "daily": dict(schedule="@daily"),
    "hourly": dict(schedule="@hourly"),
    "weekly": dict(schedule="@weekly"),
    "late_evening": dict(schedule="30 23 * * *"),
    "paris_weekdays": dict(schedule="0 9 * * 1-5", start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Paris")),
    "bounded": dict(schedule="0 6 * * *", start_date=dt.datetime(2024, 3, 5, 12), end_date=dt.datetime(2024, 3, 20)),
    "every_six_hours": dict(schedule=dt.timedelta(hours=6)),
    "serial": dict(schedule="@daily", max_active_runs=1),
}

for dag_id, settings in DAGS.items():
    settings = {"start_date": START, **settings}
    with DAG(dag_id, **settings) as dag:
        EmptyOperator(task_id="work")
    globals()[dag_id] = dag
