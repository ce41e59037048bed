"""Consumers of tests/data/assets/produce.py's assets (tests/schedule/test_assets.py): one on either
asset, one on both (AssetAll: waits for an event of each), one on either or a daily time."""

import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import Asset, AssetAll, AssetAny, AssetOrTimeSchedule, CronTriggerTimetable

    def or_time(timetable, assets):
        return AssetOrTimeSchedule(timetable=timetable, assets=assets)
except ImportError:  # Airflow 2
    from airflow.datasets import Dataset as Asset
    from airflow.datasets import DatasetAll as AssetAll
    from airflow.datasets import DatasetAny as AssetAny
    from airflow.operators.python import PythonOperator
    from airflow.timetables.datasets import DatasetOrTimeSchedule
    from airflow.timetables.trigger import CronTriggerTimetable

    def or_time(timetable, assets):
        return DatasetOrTimeSchedule(timetable=timetable, datasets=assets)

ORDERS = Asset("s3://lake/orders")
CUSTOMERS = Asset("s3://lake/customers")


def report(**context):
    events = context.get("triggering_asset_events") or context.get("triggering_dataset_events") or {}
    for asset, received in events.items():
        print("triggered by", getattr(asset, "uri", asset), [event.extra for event in received])


START = pendulum.datetime(2024, 1, 1, tz="UTC")
with DAG("on_both", start_date=START, schedule=AssetAll(ORDERS, CUSTOMERS)):
    PythonOperator(task_id="report", python_callable=report)
with DAG("on_either", start_date=START, schedule=AssetAny(ORDERS, CUSTOMERS)):
    PythonOperator(task_id="report", python_callable=report)
with DAG("on_orders_or_daily", start_date=START,
         schedule=or_time(CronTriggerTimetable("0 6 * * *", timezone="UTC"), [ORDERS])):
    PythonOperator(task_id="report", python_callable=report)
