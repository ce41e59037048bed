# expect: bad_param.py: DAG param 'my param' cannot be an Argo workflow parameter
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.empty import EmptyOperator

with DAG("params", start_date=pendulum.datetime(2024, 1, 1), schedule=None, params={"my param": 1}) as dag:
    EmptyOperator(task_id="work")
