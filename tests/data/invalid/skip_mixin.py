# expect: skip_mixin.py: task 'pick' \(PickOperator\) skips other tasks itself \(SkipMixin\), which bridge cannot carry across pods
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.providers.standard.utils.skipmixin import SkipMixin
    from airflow.sdk import BaseOperator
except ImportError:
    from airflow.models.baseoperator import BaseOperator
    from airflow.models.skipmixin import SkipMixin
    from airflow.operators.empty import EmptyOperator


class PickOperator(BaseOperator, SkipMixin):
    """Skips its downstream tasks with SkipMixin.skip, outside Airflow's branch protocol."""

    def execute(self, context):
        return None


with DAG("skips", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:
    PickOperator(task_id="pick") >> EmptyOperator(task_id="after")
