# expect: mapped.py: task 'double' is dynamically mapped \(.expand\(\)\), which bridge cannot yet run on Argo
import pendulum
from airflow import DAG

try:
    from airflow.sdk import task
except ImportError:
    from airflow.decorators import task

with DAG("mapped", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:

    @task
    def double(x):
        return 2 * x

    double.expand(x=[1, 2, 3])
