# expect: bad_dag_id.py(:\d+)?: import error: [\w.]*(AirflowException|ValueError): The key 'a/b' has to be made of alphanumeric characters, dashes, dots,? and underscores exclusively
import pendulum
from airflow import DAG

DAG("a/b", start_date=pendulum.datetime(2024, 1, 1), schedule=None)
