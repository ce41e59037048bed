"""Native pods with templated fields (the render step, bridge.runtime.podrender), runnable on this
machine: tests/local/test_kpo_run.py compares what their commands print with Airflow's own rendering."""

import pendulum
from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

try:
    from airflow.sdk import task
except ImportError:  # Airflow 2
    from airflow.decorators import task

with DAG(
    "kpo_templated",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=None,
    params={"region": "eu", "limit": 7},
) as dag:

    @task
    def produce():
        return {"table": "sales", "rows": 42}

    report = KubernetesPodOperator(
        task_id="report",
        image="alpine:3.20",
        cmds=["sh", "-c", 'echo "args: $*"; echo "env: $TABLE $WHEN"', "report"],
        arguments=[
            "{{ ds }}",
            "{{ params.region }}-{{ params.limit }}",
            "{{ ti.xcom_pull(task_ids='produce')['rows'] }}",
            "{{ macros.ds_add(ds, 1) }}",
        ],
        env_vars={"TABLE": "{{ ti.xcom_pull(task_ids='produce')['table'] }}", "WHEN": "{{ data_interval_end | ds }}"},
    )

    def downward(name, path):
        """An env var of the pod's own metadata (the downward API)."""
        return k8s.V1EnvVar(name=name, value_from=k8s.V1EnvVarSource(field_ref=k8s.V1ObjectFieldSelector(field_path=path)))

    # Templated label and annotation values: each is rendered for the run (the pod's metadata).
    labelled = KubernetesPodOperator(
        task_id="labelled",
        image="alpine:3.20",
        cmds=["sh", "-c", 'echo "metadata: $DAY $OWNER $FIXED"'],
        labels={"run-date": "{{ ds }}", "fixed": "yes"},
        annotations={"example.com/region": "{{ params.region }}-{{ ti.xcom_pull(task_ids='produce')['table'] }}"},
        env_vars=[downward("DAY", "metadata.labels['run-date']"), downward("OWNER", "metadata.annotations['example.com/region']"),
                  downward("FIXED", "metadata.labels['fixed']")],
    )

    @task
    def after():
        return "done"

    produced = produce()
    produced >> report >> after()
    produced >> labelled
