# expect: no_tasks.py: DAG 'empty' has no tasks; an Argo DAG needs at least one task
import pendulum
from airflow import DAG

dag = DAG("empty", start_date=pendulum.datetime(2024, 1, 1), schedule=None)
