"""DAGs with DAG-level callbacks that record every call in the file $BRIDGE_TEST_CALLBACK_LOG.

The file exists before the run (so `bridge run` leaves its path alone even under /tmp: a pod's /tmp
is its own, but a file already there is the host's) and outlives the pods. Each call appends one
JSON line: which callback, Airflow's `reason`, the DagRun's state, the context's task instance,
the context's keys and a few values (ds, params, run_id). `fail_once` decides by the existing file
$BRIDGE_TEST_MARKER: empty -> fail (and write to it), else succeed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time

from airflow import DAG

try:
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2
    from airflow.operators.python import PythonOperator

START = dt.datetime(2024, 1, 1)


def _record(kind: str, context: dict) -> None:
    dag_run = context.get("dag_run")
    ti = context.get("ti")
    state = getattr(dag_run, "state", None)
    record = {
        "kind": kind,
        "reason": context.get("reason"),
        "state": str(getattr(state, "value", state)),
        "run_id": context.get("run_id"),
        "ds": context.get("ds"),
        "params": dict(context.get("params") or {}),
        "ti": None if ti is None else ti.task_id,
        "ti_state": None if ti is None else str(getattr(ti.state, "value", ti.state)),
        "keys": sorted(context),
    }
    record["dag_id"] = context["dag"].dag_id
    with open(os.environ["BRIDGE_TEST_CALLBACK_LOG"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


def on_success(context: dict) -> None:
    _record("on_success_callback", context)


def on_failure(context: dict) -> None:
    _record("on_failure_callback", context)


def ok() -> None:
    print("ok")


def fail() -> None:
    raise RuntimeError("this task always fails")


def fail_once() -> None:
    """Fails the first time it runs, succeeds after (the marker file decides)."""
    with open(os.environ["BRIDGE_TEST_MARKER"], "r+", encoding="utf-8") as marker:
        if not marker.read():
            marker.write("failed once")
            raise RuntimeError("first try fails")


def sleep_long() -> None:
    time.sleep(120)


def _dag(dag_id: str, **kwargs) -> DAG:
    return DAG(dag_id=dag_id, start_date=START, schedule=None, params={"limit": 3},
               on_success_callback=on_success, on_failure_callback=[on_failure], **kwargs)


with _dag("cb_success"):
    PythonOperator(task_id="first", python_callable=ok) >> PythonOperator(task_id="second_task", python_callable=ok)

with _dag("cb_failure"):
    (
        PythonOperator(task_id="first", python_callable=ok)
        >> PythonOperator(task_id="broken_task", python_callable=fail)
        >> PythonOperator(task_id="after", python_callable=ok)
    )

with _dag("cb_retry"):
    PythonOperator(task_id="flaky", python_callable=fail_once, retries=1, retry_delay=dt.timedelta(0)) >> PythonOperator(
        task_id="last", python_callable=ok
    )

with _dag("cb_timeout", dagrun_timeout=dt.timedelta(seconds=8)):
    PythonOperator(task_id="first", python_callable=ok) >> PythonOperator(task_id="slow", python_callable=sleep_long)

with DAG(dag_id="cb_none", start_date=START, schedule=None):
    PythonOperator(task_id="only", python_callable=ok)
