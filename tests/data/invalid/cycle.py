# expect: cycle.py: import error: AirflowDagCycleException: Cycle detected in (DAG|Dag): cycle\. Faulty task: c; remove the dependency cycle
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2
    from airflow.operators.empty import EmptyOperator

with DAG("cycle", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    a = EmptyOperator(task_id="a")
    b = EmptyOperator(task_id="b")
    c = EmptyOperator(task_id="c")
    a >> b >> c >> a
