"""Airflow 3 schedules without a start_date (docs/SCHEDULES.md, "Other timetables"): their runs are
laid from the scheduler's first look at the DAG, on bridge the CronJob's first fire."""

import datetime as dt

import pendulum
from airflow import DAG
from airflow.timetables.events import EventsTimetable
from airflow.timetables.interval import DeltaDataIntervalTimetable
from airflow.timetables.trigger import CronTriggerTimetable

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.empty import EmptyOperator

SCHEDULES = {
    "six_hours_unstarted": dt.timedelta(hours=6),
    "seven_hours_unstarted": dt.timedelta(hours=7),
    "data_interval_unstarted": DeltaDataIntervalTimetable(dt.timedelta(hours=4)),
    "run_immediately": CronTriggerTimetable("0 6 * * *", timezone="UTC", run_immediately=True),
    "events_unstarted": EventsTimetable(event_dates=[pendulum.datetime(2024, 3, 27, 17, 30, tz="UTC"),
                                                     pendulum.datetime(2024, 3, 29, 8, 0, tz="UTC")]),
}

for dag_id, schedule in SCHEDULES.items():  # catchup needs a start_date (Airflow 3.3 refuses it without)
    with DAG(dag_id, schedule=schedule, catchup=False) as dag:
        EmptyOperator(task_id="work")
    globals()[dag_id] = dag
