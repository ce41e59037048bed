"""A native pod between TaskFlow tasks, both ways through XCom (tests/local/test_kpo_run.py and
tests/e2e/kpo.sh): `produce` pushes a dict, `count` (a KubernetesPodOperator, do_xcom_push=True)
reads it in its templated arguments and writes /airflow/xcom/return.json, `check` (TaskFlow) and
`again` (another pod, templated from `count`'s XCom) read that. `quiet` (a pod) exits 100, one of
its skip_on_exit_code: it is skipped, so is its all_success downstream `never`, and `finish`
(none_failed) runs."""

import os

import pendulum
from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

try:
    from airflow.sdk import task
except ImportError:  # Airflow 2
    from airflow.decorators import task

# tests/e2e/kpo.sh runs the pods in an image built for them; bridge run's host engine runs `sh` here.
IMAGE = os.environ.get("BRIDGE_KPO_IMAGE", "localhost/bridge-kpo-tools:1")

with DAG("kpo_xcom", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:

    @task
    def produce():
        return {"table": "sales", "rows": 42}

    count = KubernetesPodOperator(
        task_id="count",
        image=IMAGE,
        cmds=["sh", "-c", 'mkdir -p /airflow/xcom && printf \'{"day": "%s", "rows": %s}\' "$1" "$2" > /airflow/xcom/return.json', "count"],
        arguments=["{{ ds }}", "{{ ti.xcom_pull(task_ids='produce')['rows'] }}"],
        do_xcom_push=True,
    )

    @task
    def check(counted):
        assert counted == {"day": "2024-01-02", "rows": 42}, counted
        return counted["rows"] * 2

    again = KubernetesPodOperator(
        task_id="again",
        image=IMAGE,
        cmds=["sh", "-c", 'test "$1" = 2024-01-02:42 && echo "again: $1 $(cat /etc/kpo-tools 2>/dev/null)"', "again"],
        arguments=["{{ ti.xcom_pull(task_ids='count')['day'] }}:{{ ti.xcom_pull(task_ids='count')['rows'] }}"],
    )

    quiet = KubernetesPodOperator(
        task_id="quiet",
        image=IMAGE,
        cmds=["sh", "-c", 'echo "quiet: $(cat /etc/kpo-tools 2>/dev/null)"; exit 100'],
        skip_on_exit_code=100,
    )

    @task
    def never():
        return "skipped with its upstream"

    @task(trigger_rule="none_failed")
    def finish():
        return "runs"

    produce() >> count
    check(count.output)
    count >> again >> quiet >> [never(), finish()]
