"""Fixture: every Airflow setting bridge maps to Argo, on one DAG."""

import datetime as dt

import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import BaseOperator
except ImportError:
    from airflow.models.baseoperator import BaseOperator
    from airflow.operators.empty import EmptyOperator


class CopyOperator(BaseOperator):
    """An operator that references two connections by id, as provider operators do."""

    def __init__(self, source_conn_id: str, target_conn_id: str, **kwargs):
        super().__init__(**kwargs)
        self.source_conn_id = source_conn_id
        self.target_conn_id = target_conn_id

    def execute(self, context):
        return None


with DAG(
    dag_id="settings",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="30 23 * * *",
    dagrun_timeout=dt.timedelta(hours=2),
    max_active_tasks=4,
    tags=["finance", "nightly"],
    doc_md="# Settings\nEvery mapped setting.",
    params={"region": "eu", "limit": 10, "flags": {"dry": True}},
    default_args={"owner": "ops"},
) as dag:
    plain = EmptyOperator(task_id="plain")
    retried = EmptyOperator(
        task_id="retried",
        retries=3,
        retry_delay=dt.timedelta(seconds=90),
        retry_exponential_backoff=True,
        max_retry_delay=dt.timedelta(minutes=10),
        execution_timeout=dt.timedelta(minutes=5),
    )
    linear = EmptyOperator(task_id="linear", retries=1, retry_delay=dt.timedelta(minutes=2))
    copy = CopyOperator(
        task_id="copy",
        source_conn_id="warehouse_db",
        target_conn_id="{{ params.region }}_bucket",
        pool="copies",
        queue="heavy",
        executor_config={"pod_override": {"spec": {"nodeSelector": {"disk": "ssd"}}}},
    )
    plain >> [retried, linear] >> copy
