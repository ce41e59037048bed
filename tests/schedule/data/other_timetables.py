"""Schedules no cron line expresses (docs/SCHEDULES.md, "Other timetables"): one DAG each."""

import datetime as dt

import pendulum
from airflow import DAG
from airflow.timetables.events import EventsTimetable
from airflow.timetables.trigger import CronTriggerTimetable

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.empty import EmptyOperator

START = pendulum.datetime(2024, 2, 1, 3, 15, tz="UTC")
EVENTS = [
    pendulum.datetime(2024, 3, 25, 9, 0, tz="UTC"),
    pendulum.datetime(2024, 3, 27, 17, 30, tz="UTC"),
    pendulum.datetime(2024, 3, 29, 23, 59, 30, tz="UTC"),  # seconds: caught the minute after
    pendulum.datetime(2024, 4, 20, 6, 45, tz="UTC"),
]
SCHEDULES = {
    "every_six_hours": dt.timedelta(hours=6),
    "every_ninety_minutes": dt.timedelta(minutes=90),
    "daily_at_0315": dt.timedelta(days=1),
    "four_hourly_trigger": CronTriggerTimetable("0 */4 * * *", timezone="UTC", interval=dt.timedelta(hours=4)),
    "last_day_of_month": "0 6 L * *",  # croniter's L: no Kubernetes cron line
    "fixed_offset": CronTriggerTimetable("30 9 * * *", timezone=pendulum.FixedTimezone(3600)),
    "events": EventsTimetable(event_dates=EVENTS, restrict_to_events=False),
}
try:  # Airflow 3 only
    from airflow.timetables.trigger import MultipleCronTriggerTimetable

    SCHEDULES["two_crons"] = MultipleCronTriggerTimetable("0 9 * * 1-5", "30 17 * * *", timezone="Europe/Paris")
except ImportError:
    pass

for dag_id, schedule in SCHEDULES.items():
    with DAG(dag_id, start_date=START, schedule=schedule, catchup=False) as dag:
        EmptyOperator(task_id="work")
    globals()[dag_id] = dag
