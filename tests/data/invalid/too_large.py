# expect: too_large.py: DAG 'too_large' \(160 tasks\) gives workflows/too-large\.yaml: the object is \d+ bytes as Argo stores it \(compact JSON\), over Kubernetes' 1 MiB limit; its DAG tasks take \d+ bytes, \d+ per task on average; the largest is task 'load\.load_partition_of_the_daily_extract_000' with \d+ bytes \(80 upstreams, each named in its depends, when and XCom input\); split it into several DAGs
# Every task of `load` depends on every task of `extract` (80 x 80 = 6,400 edges), each read in its
# depends, when and XCom input (Bash tasks may skip themselves and push): over 1 MiB.
import pendulum
from airflow import DAG

try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:
    from airflow.operators.bash import BashOperator
try:
    from airflow.sdk import TaskGroup
except ImportError:
    from airflow.utils.task_group import TaskGroup

with DAG("too_large", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    with TaskGroup("extract") as extract:
        [BashOperator(task_id=f"extract_partition_of_the_daily_snapshot_{i:03d}", bash_command="true") for i in range(80)]
    with TaskGroup("load") as load:
        [BashOperator(task_id=f"load_partition_of_the_daily_extract_{i:03d}", bash_command="true") for i in range(80)]
    extract >> load
