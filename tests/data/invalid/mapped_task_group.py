# expect: mapped_task_group.py: task 'grp.double' is in a dynamically mapped task group \(.expand\(\) on a task group\)
import pendulum
from airflow import DAG

try:
    from airflow.sdk import task, task_group
except ImportError:
    from airflow.decorators import task, task_group

with DAG("mapped_group", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:

    @task_group
    def grp(x):
        @task
        def double(x):
            return 2 * x

        double(x)

    grp.expand(x=[1, 2, 3])
