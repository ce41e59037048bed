"""Maintenance: the monthly compaction runs only on the first day of a month; the audit runs every day.

On 2024-01-02 `monthly_window` short-circuits: `compact_partitions` is skipped, while `audit`
(trigger rule `all_done`) still runs, so the run succeeds with a mix of states.
"""

from __future__ import annotations

import pendulum
from airflow import DAG
from common.alerts import on_failure
from common.dates import is_month_start

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import ShortCircuitOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator  # type: ignore[no-redef]
    from airflow.operators.python import ShortCircuitOperator  # type: ignore[no-redef]

with DAG(
    dag_id="warehouse_maintenance",
    description="Monthly compaction and a daily audit",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="0 4 * * *",
    catchup=False,
    default_args={"owner": "warehouse", "on_failure_callback": on_failure},
    tags=["warehouse"],
) as dag:
    window = ShortCircuitOperator(
        task_id="monthly_window", python_callable=is_month_start, ignore_downstream_trigger_rules=False,
    )
    compact = BashOperator(task_id="compact_partitions", bash_command="echo 'compacting partitions of {{ ds }}'")
    audit = BashOperator(
        task_id="audit", bash_command="echo 'audit of {{ ds }} in {{ macros.warehouse.fiscal_quarter(ds) }}'",
        trigger_rule="all_done",
    )
    window >> compact >> audit
