"""A producer of assets (datasets on Airflow 2): a static outlet, an outlet with extra set at run
time, and a task that fails (no event). tests/schedule/test_assets.py."""

import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import Asset
except ImportError:  # Airflow 2
    from airflow.datasets import Dataset as Asset
    from airflow.operators.python import PythonOperator

ORDERS = Asset("s3://lake/orders")
CUSTOMERS = Asset("s3://lake/customers")


def load_orders(**context):
    context["outlet_events"][ORDERS].extra = {"rows": 42, "day": context["ds"]}


with DAG("produce", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:
    orders = PythonOperator(task_id="orders", python_callable=load_orders, outlets=[ORDERS])
    customers = PythonOperator(task_id="customers", python_callable=lambda: None, outlets=[CUSTOMERS])
    broken = PythonOperator(task_id="broken", python_callable=lambda: 1 / 0, outlets=[CUSTOMERS])
