"""Airflow parity corpus: a failed task whose all_done cleanup succeeds (the DagRun succeeds)."""

import pendulum
from _compat import DAG, task

with DAG("parity_cleanup", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:

    @task
    def load():
        raise RuntimeError("load fails")

    @task(trigger_rule="all_done")
    def cleanup():
        print("cleaning up")

    load() >> cleanup()
