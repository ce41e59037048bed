# expect: two_dags.py: defines 2 DAGs \(first, second\); choose one with --dag-id
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.empty import EmptyOperator

for dag_id in ("first", "second"):
    with DAG(dag_id, start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:
        EmptyOperator(task_id="work")
    globals()[dag_id] = dag
