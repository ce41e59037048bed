"""TriggerDagRunOperators starting another DAG's runs (tests/schedule/test_trigger_dagrun.py): the
other DAG, `target_etl`, runs on Argo as Workflows of its WorkflowTemplate; these tasks create them
through the Kubernetes API."""

import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
except ImportError:  # Airflow 2 without the standard provider
    from airflow.operators.trigger_dagrun import TriggerDagRunOperator

with DAG("launcher", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule="@daily", catchup=False) as dag:
    # Fire and forget, the run at this run's logical date, with conf (templated).
    TriggerDagRunOperator(task_id="start", trigger_dag_id="target_etl", logical_date="{{ logical_date }}",
                          conf={"table": "sales_{{ ds_nodash }}", "limit": 10})
    # Wait until it ends: success passes, failed fails.
    TriggerDagRunOperator(task_id="start_and_wait", trigger_dag_id="target_etl", logical_date="{{ logical_date }}",
                          trigger_run_id="from_launcher_{{ ds_nodash }}", wait_for_completion=True, poke_interval=1)
    # A run of that date exists already: skip instead of failing.
    TriggerDagRunOperator(task_id="start_once", trigger_dag_id="target_etl", logical_date="{{ logical_date }}",
                          skip_when_already_exists=True)
    # A run of that date exists already: run it again (Airflow's clear).
    TriggerDagRunOperator(task_id="start_again", trigger_dag_id="target_etl", logical_date="{{ logical_date }}",
                          reset_dag_run=True)
    # A conf key the target does not declare as a param.
    TriggerDagRunOperator(task_id="start_unknown", trigger_dag_id="target_etl", logical_date="{{ logical_date }}",
                          conf={"colour": "red"})
