# expect: no_dag.py: no DAG found; the file must create an Airflow DAG at import time
from airflow import DAG  # noqa: F401

VALUE = 1
