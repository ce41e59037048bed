"""Airflow parity corpus: setup and teardown around work that fails, and a failure with a cleanup."""

import pendulum
from _compat import DAG, EmptyOperator, task

with DAG("parity_setup_teardown", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:

    @task
    def create_cluster():
        return "cluster-1"

    @task
    def work(cluster):
        raise RuntimeError(f"work on {cluster} fails")

    @task
    def delete_cluster(cluster):
        print("deleting", cluster)

    cluster = create_cluster()
    deleted = delete_cluster(cluster)
    cluster >> work(cluster) >> deleted.as_teardown(setups=cluster)
    after = EmptyOperator(task_id="after_work")
    deleted >> after
