"""Retries and task callbacks (tests/parity/test_retries.py): every callback and alert e-mail is
recorded, with the try it fired on, to $CALLBACK_DIR (a folder that outlives the pods)."""

import json
import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.exceptions import AirflowFailException

try:
    from airflow.sdk import task
except ImportError:  # Airflow 2
    from airflow.decorators import task


def record(kind, **fields):
    with open(os.path.join(os.environ["CALLBACK_DIR"], "calls.jsonl"), "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"kind": kind, **fields}, sort_keys=True) + "\n")


def callback(kind):
    def on_state(context):
        ti = context["ti"]
        record(kind, task=ti.task_id, try_number=ti.try_number, max_tries=ti.max_tries,
               last_try=ti.try_number - 1 == ti.max_tries)
    return on_state


default_args = {
    "retries": 2,
    "retry_delay": timedelta(seconds=0),
    "on_retry_callback": callback("retry"),
    "on_failure_callback": callback("failure"),
    "on_success_callback": callback("success"),
    "email": ["oncall@example.com"],
    "email_on_retry": True,
    "email_on_failure": True,
}

with DAG("retry_callbacks", start_date=datetime(2024, 1, 1), schedule=None, default_args=default_args):

    @task
    def flaky(ti=None):
        """Fails on its first try, succeeds on the second (deciding by try_number)."""
        if ti.try_number < 2:
            raise ValueError(f"try {ti.try_number} fails")
        return ti.try_number

    @task
    def always_fails():
        raise ValueError("always")

    @task
    def gives_up():
        """Airflow fails it at once, although two retries remain: no retry, no retry callback."""
        raise AirflowFailException("no point retrying")

    @task(retries=1, retry_exponential_backoff=True)
    def backs_off(ti=None):
        if ti.try_number < 2:
            raise ValueError("once")

    flaky()
    always_fails()
    gives_up()
    backs_off()
