# expect: two_dags.py: defines 2 DAGs \(first, second\); choose one with --dag-id
import pendulum
from airflow import DAG

first = DAG("first", start_date=pendulum.datetime(2024, 1, 1), schedule=None)
second = DAG("second", start_date=pendulum.datetime(2024, 1, 1), schedule=None)
