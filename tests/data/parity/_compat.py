"""Imports that differ between Airflow 2 and 3, for the parity corpus."""

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.providers.standard.operators.python import BranchPythonOperator, ShortCircuitOperator
    from airflow.sdk import DAG, TaskGroup, task
    from airflow.sdk.exceptions import AirflowSkipException
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task
    from airflow.exceptions import AirflowSkipException
    from airflow.operators.bash import BashOperator
    from airflow.operators.empty import EmptyOperator
    from airflow.operators.python import BranchPythonOperator, ShortCircuitOperator
    from airflow.utils.task_group import TaskGroup

__all__ = ["DAG", "AirflowSkipException", "BashOperator", "BranchPythonOperator", "EmptyOperator",
           "ShortCircuitOperator", "TaskGroup", "task"]
