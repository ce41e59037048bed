"""A small ETL DAG that needs no cloud: Bash, Python and TaskFlow tasks talking through XCom.

`bridge run examples/etl/etl.py --run-date 2024-01-01` runs it on a laptop the way Argo would.
"""

from __future__ import annotations

import pendulum
from airflow import DAG

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import task
except ImportError:  # Airflow 2
    from airflow.decorators import task  # type: ignore[no-redef]
    from airflow.operators.bash import BashOperator  # type: ignore[no-redef]
    from airflow.operators.python import PythonOperator  # type: ignore[no-redef]


def summarise(ti=None, ds=None) -> str:
    """Read the loaded total from XCom and write a one-line report."""
    total = ti.xcom_pull(task_ids="transform", key="return_value")["total"]
    report = f"{ds}: {total} items"
    print(report)
    return report


with DAG(
    dag_id="etl",
    description="Extract orders, transform them, and report a total",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="@daily",
    catchup=False,
    params={"multiplier": 2},
    default_args={"owner": "data-eng", "retries": 1, "retry_delay": pendulum.duration(seconds=30)},
    tags=["example"],
) as dag:
    greet = BashOperator(task_id="greet", bash_command="echo 'extracting orders for {{ ds }} ({{ ds_nodash }})'")

    @task
    def extract(ds=None) -> list:
        """Pretend to read the day's orders."""
        day = int(ds[-2:])
        return [{"id": i, "quantity": day + i} for i in range(3)]

    @task
    def transform(orders: list, params=None) -> dict:
        """Multiply quantities by the DAG param and total them."""
        total = sum(order["quantity"] for order in orders) * int(params["multiplier"])
        return {"total": total, "orders": len(orders)}

    report = PythonOperator(task_id="report", python_callable=summarise)
    archive = BashOperator(
        task_id="archive",
        bash_command="echo 'archiving {{ macros.ds_add(ds, -1) }} .. {{ ds }}: "
        "{{ ti.xcom_pull(task_ids=\"report\") }}'",
    )

    orders = extract()
    greet >> orders
    transform(orders) >> report >> archive
