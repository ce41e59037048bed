# expect: trigger_rule.py: task 'alert' uses trigger_rule='one_failed', which bridge cannot yet map to Argo faithfully
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.empty import EmptyOperator

with DAG("rules", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:
    EmptyOperator(task_id="work") >> EmptyOperator(task_id="alert", trigger_rule="one_failed")
