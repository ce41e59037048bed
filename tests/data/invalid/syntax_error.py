# expect: syntax_error.py:4: syntax error: .*; fix the file and run again
from airflow import DAG

with DAG("broken") as dag
    pass
