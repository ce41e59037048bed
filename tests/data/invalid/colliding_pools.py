# expect: colliding_pools.py: pools 'api_calls' and 'API-calls' would share the semaphore ConfigMap bridge-pool-api-calls .*rename one of the pools
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.empty import EmptyOperator

with DAG(dag_id="colliding_pools", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:
    EmptyOperator(task_id="a", pool="api_calls")
    EmptyOperator(task_id="b", pool="API-calls")
