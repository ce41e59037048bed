"""Weekly report: a SQL template from the project's `include/` folder, found through an absolute
`template_searchpath` computed from this file's path, and the plugin macro `macros.warehouse.fiscal_quarter`.

The DAG lives in a subfolder of the dags folder and still imports `common.dates` from the dags root.
"""

from __future__ import annotations

import os

import pendulum
from airflow import DAG
from common.dates import week_bounds

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator  # type: ignore[no-redef]
    from airflow.operators.python import PythonOperator  # type: ignore[no-redef]
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

# examples/warehouse/include: a sibling of the dags folder, two levels above this file.
INCLUDE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "include")


def summarise(ti=None, ds=None) -> dict:
    """Turn the summary rows into the report's numbers."""
    (quarter, first, last, days, units), = ti.xcom_pull(task_ids="week_summary")
    assert (first, last) == week_bounds(ds), (first, last)
    return {"quarter": quarter, "week": f"{first}..{last}", "days": days, "units": units}


with DAG(
    dag_id="warehouse_weekly_report",
    description="Summarise the week in SQL and print the report",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="0 6 * * 1",
    catchup=False,
    template_searchpath=[INCLUDE],
    user_defined_macros={"week_bounds": week_bounds},
    tags=["warehouse", "reporting"],
) as dag:
    summary = SQLExecuteQueryOperator(task_id="week_summary", conn_id="warehouse_db", sql="weekly_summary.sql")
    numbers = PythonOperator(task_id="summarise", python_callable=summarise)
    report = BashOperator(
        task_id="print_report",
        bash_command="echo '{{ macros.warehouse.fiscal_quarter(ds) }} report: "
        "{{ ti.xcom_pull(task_ids=\"summarise\")[\"units\"] }} units'",
    )
    summary >> numbers >> report
