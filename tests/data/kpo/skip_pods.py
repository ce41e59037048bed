"""skip_on_exit_code on native pods between Airflow tasks, runnable on this machine (their commands
are `sh`): tests/local/test_kpo_run.py runs it with `bridge run`.

The oracle is the same DAG with KPO_SKIP_ORACLE=bash in the environment: every pod becomes a
BashOperator running the same exit, with the same skip_on_exit_code, retries and params. Airflow
treats both operators' skip_on_exit_code alike (a listed exit code raises AirflowSkipException,
any other non-zero one fails the try), and `airflow dags test` runs a BashOperator with no cluster.
"""

import os
from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

try:
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import task
except ImportError:  # Airflow 2
    from airflow.decorators import task
    from airflow.operators.bash import BashOperator


def exits(task_id, command, skip, **kwargs):
    """A task whose command is `command` (an `exit N`, perhaps templated), skipped on the codes `skip`."""
    if os.environ.get("KPO_SKIP_ORACLE") == "bash":
        return BashOperator(task_id=task_id, bash_command=command, skip_on_exit_code=skip, **kwargs)
    return KubernetesPodOperator(
        task_id=task_id, image="alpine:3.20", cmds=["sh", "-c", command], skip_on_exit_code=skip, **kwargs
    )


with DAG("kpo_skips", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:
    # A skip code with retries left: skipped at once, not retried.
    skipped = exits("skipped", "exit 100", [100, 101], retries=2, retry_delay=timedelta(seconds=0))
    # Any other code fails the try; the retry fails too.
    failed = exits("failed", "exit 3", [100], retries=1, retry_delay=timedelta(seconds=0))
    passed = exits("passed", "exit 0", [100])
    # Its command is rendered for the run first (a render step), then the exit code skips it.
    rendered = exits("rendered", "exit {{ params.code }}", 101, params={"code": 101})

    @task
    def after_skip():
        return "never runs"

    @task(trigger_rule="all_done")
    def done_anyway():
        return "runs"

    @task(trigger_rule="all_skipped")
    def when_skipped():
        return "runs"

    @task(trigger_rule="none_failed_min_one_success")
    def one_passed():
        return "runs"

    @task(trigger_rule="one_failed")
    def alert():
        return "runs"

    @task
    def after_rendered():
        return "never runs"

    skipped >> [after_skip(), done_anyway(), when_skipped()]
    [skipped, passed] >> one_passed()
    failed >> alert()
    rendered >> after_rendered()
