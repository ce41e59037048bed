"""Daily orders: load, total the day's orders in SQL, then publish them or alert when volume is low.

Shows a Jinja `.sh` template beside the DAG (`scripts/load.sh`), a SQL template (`sql/daily_totals.sql`)
run against SQLite through the `warehouse_db` connection from the environment, a custom branch
operator from the plugins folder, a helper from the dags root (`common.alerts`) and a package from
the project's requirements.txt (tabulate). On 2024-01-02 the volume is high: `alert_low_volume` is
skipped.
"""

from __future__ import annotations

import pendulum
from airflow import DAG
from common.alerts import format_alert, on_failure
from tabulate import tabulate
from warehouse_operators import VolumeBranchOperator

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator  # type: ignore[no-redef]
    from airflow.operators.empty import EmptyOperator  # type: ignore[no-redef]
    from airflow.operators.python import PythonOperator  # type: ignore[no-redef]
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator


def publish_totals(ti=None, ds=None) -> str:
    """Print the day's totals as a table (what a real project would mail or post)."""
    rows = ti.xcom_pull(task_ids="daily_totals")
    table = tabulate(rows, headers=["region", "orders", "units"], tablefmt="github")
    print(f"orders of {ds}\n{table}")
    return table


def alert_low_volume(ti=None, ds=None) -> str:
    """Report a day whose volume is under the threshold."""
    message = format_alert(ti.dag_id, ti.task_id, f"low order volume on {ds}")
    print(message)
    return message


with DAG(
    dag_id="warehouse_daily_orders",
    description="Total the day's orders in SQL and publish them",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="30 2 * * *",
    catchup=False,
    params={"min_quantity": 2, "min_units": 5},
    default_args={"owner": "warehouse", "retries": 1, "retry_delay": pendulum.duration(seconds=10),
                  "on_failure_callback": on_failure},
    tags=["warehouse"],
) as dag:
    load = BashOperator(task_id="load_orders", bash_command="scripts/load.sh", params={"table": "orders"})
    totals = SQLExecuteQueryOperator(task_id="daily_totals", conn_id="warehouse_db", sql="sql/daily_totals.sql")
    check = VolumeBranchOperator(
        task_id="check_volume", rows_task_id="daily_totals", column=2, threshold="{{ params.min_units }}",
        above="publish", below="alert_low_volume",
    )
    publish = PythonOperator(task_id="publish", python_callable=publish_totals)
    alert = PythonOperator(task_id="alert_low_volume", python_callable=alert_low_volume)
    done = EmptyOperator(task_id="done", trigger_rule="none_failed_min_one_success")

    load >> totals >> check >> [publish, alert] >> done
