"""ExternalTaskSensors waiting on another DAG's runs (tests/schedule/test_external_sensor.py): the
other DAG, `upstream_etl`, runs on Argo as its own Workflows; these sensors find them through the
Kubernetes API."""

from datetime import timedelta

import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
except ImportError:  # Airflow 2 without the standard provider
    from airflow.sensors.external_task import ExternalTaskSensor

with DAG("reports", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule="@daily", catchup=False) as dag:
    # The same logical date's `load`: success passes, failed or upstream_failed fails at once.
    wait_load = ExternalTaskSensor(task_id="wait_load", external_dag_id="upstream_etl", external_task_id="load",
                                   failed_states=["failed", "upstream_failed"], poke_interval=1, timeout=3, mode="poke")
    # The whole run an hour earlier (its logical date shifted by execution_delta), in reschedule mode.
    wait_run = ExternalTaskSensor(task_id="wait_run", external_dag_id="upstream_etl", external_task_id=None,
                                  execution_delta=timedelta(hours=1), poke_interval=1, timeout=3, mode="reschedule")
    # A skipped `optional` skips this sensor.
    wait_optional = ExternalTaskSensor(task_id="wait_optional", external_dag_id="upstream_etl", external_task_id="optional",
                                       skipped_states=["skipped"], poke_interval=1, timeout=3)
