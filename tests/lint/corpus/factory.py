"""A DAG built by a factory and never bound to a module global."""
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow.operators.empty import EmptyOperator


def build(dag_id: str, steps: int) -> DAG:
    with DAG(dag_id, start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:
        previous = None
        for number in range(steps):
            task = EmptyOperator(task_id=f"step_{number}")
            if previous is not None:
                previous >> task
            previous = task
    return dag


build("factory_made", 3)
