"""Native pods between Airflow tasks, runnable on this machine (their commands are `sh`):
tests/local/test_kpo_run.py runs it with `bridge run`."""

import pendulum
from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

try:
    from airflow.sdk import task
except ImportError:  # Airflow 2
    from airflow.decorators import task

with DAG("kpo_host", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:

    @task
    def before():
        return 1

    ok = KubernetesPodOperator(
        task_id="ok", image="alpine:3.20", cmds=["sh", "-c", 'test "$MODE" = batch && echo native pod ran'], env_vars={"MODE": "batch"}
    )
    bad = KubernetesPodOperator(task_id="bad", image="alpine:3.20", cmds=["sh", "-c", "exit 3"])

    @task
    def after():
        return 2

    @task(trigger_rule="one_failed")
    def alert():
        return 3

    @task
    def never():
        return 4

    before() >> ok >> after()
    ok >> bad >> [alert(), never()]
