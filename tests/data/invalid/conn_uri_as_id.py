# expect: conn_uri_as_id.py: task 'query' passes 'postgres://etl\*\*\*@db\.internal:5432/sales' where a connection id belongs \(a \*conn_id argument\); bridge would write it into the Workflow
import pendulum
from airflow import DAG

try:
    from airflow.sdk import BaseOperator
except ImportError:  # Airflow 2
    from airflow.models import BaseOperator


class QueryOperator(BaseOperator):
    def __init__(self, *, postgres_conn_id: str, **kwargs):
        super().__init__(**kwargs)
        self.postgres_conn_id = postgres_conn_id

    def execute(self, context):
        return None


with DAG(
    "conn_uri",
    start_date=pendulum.datetime(2024, 1, 1),
    schedule=None,
    default_args={"postgres_conn_id": "postgres://etl:s3cr3t-pw@db.internal:5432/sales"},
):
    QueryOperator(task_id="query")
