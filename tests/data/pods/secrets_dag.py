"""Fixture: a task that reads a connection and a Variable (from whatever secrets backend the pod has) and
records `ti.log_url`, in the task and in its success callback, as JSON files in $BRIDGE_TEST_RECORD."""

import json
import os

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG, BaseHook, Variable, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task
    from airflow.hooks.base import BaseHook
    from airflow.models import Variable


def record(name, data):
    """Write what the task saw to a folder outside the pod (tests read it)."""
    folder = os.environ.get("BRIDGE_TEST_RECORD")
    if folder:
        with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
            json.dump(data, handle)


def on_success(context):
    record("callback.json", {"log_url": context["ti"].log_url, "mark_success_url": context["ti"].mark_success_url})


with DAG("secrets", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None, catchup=False):

    @task(on_success_callback=on_success)
    def read_secrets(ti=None):
        record("links.json", {"log_url": ti.log_url})
        conn = BaseHook.get_connection("warehouse")
        record("task.json", {"host": conn.host, "login": conn.login, "region": Variable.get("region")})

    read_secrets()
