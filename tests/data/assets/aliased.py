"""Producers and consumers of assets named other than by URI (tests/schedule/test_assets.py): an
alias the producer fills at run time, and (Airflow 3) an asset with a name, consumed by reference."""

import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import Asset, AssetAlias

    NAMED = Asset(name="orders_named", uri="s3://lake/orders-named")
except ImportError:  # Airflow 2: datasets have no names (nor references)
    from airflow.datasets import Dataset as Asset
    from airflow.datasets import DatasetAlias as AssetAlias
    from airflow.operators.python import PythonOperator

    NAMED = None

EXPORTS = AssetAlias("exports")
START = pendulum.datetime(2024, 1, 1, tz="UTC")


def export(**context):
    context["outlet_events"][EXPORTS].add(Asset(f"s3://lake/exports/{context['ds']}"), extra={"day": context["ds"]})


with DAG("produce_aliased", start_date=START, schedule=None):
    PythonOperator(task_id="export", python_callable=export, outlets=[EXPORTS])
    if NAMED is not None:
        PythonOperator(task_id="named", python_callable=lambda: None, outlets=[NAMED])

with DAG("on_alias", start_date=START, schedule=EXPORTS):
    PythonOperator(task_id="report", python_callable=lambda: None)
if NAMED is not None:
    with DAG("on_name", start_date=START, schedule=Asset.ref(name="orders_named")):
        PythonOperator(task_id="report", python_callable=lambda: None)
    with DAG("on_uri_ref_and_alias", start_date=START, schedule=Asset.ref(uri="s3://lake/orders-named") & EXPORTS):
        PythonOperator(task_id="report", python_callable=lambda: None)
