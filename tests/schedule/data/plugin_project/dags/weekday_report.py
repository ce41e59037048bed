"""A DAG on the project's own timetable (plugins/workdays.py)."""

import pendulum
from airflow import DAG
from workdays import WeekdayTimetable

try:
    from airflow.sdk import task
except ImportError:  # Airflow 2
    from airflow.decorators import task

with DAG("weekday_report", start_date=pendulum.datetime(2024, 3, 1, tz="UTC"), schedule=WeekdayTimetable(delay_minutes=30),
         catchup=True):

    @task
    def report(data_interval_start=None):
        return str(data_interval_start)

    report()
