"""Airflow parity corpus: a branch that skips several tasks and a task group, joins after them."""

import pendulum
from _compat import DAG, BranchPythonOperator, EmptyOperator, TaskGroup, task

with DAG("parity_branch", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:

    @task.branch
    def choose(ds=None):
        return ["left", "grp"] if ds.endswith("2") else ["right"]

    decide = choose()
    left = EmptyOperator(task_id="left")
    left_next = EmptyOperator(task_id="left_next")
    right = EmptyOperator(task_id="right")
    right_next = EmptyOperator(task_id="right_next")
    with TaskGroup("grp") as grp:
        first = EmptyOperator(task_id="first")
        first >> EmptyOperator(task_id="second")
    join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
    strict = EmptyOperator(task_id="strict_join")
    decide >> [left, right, grp]
    left >> left_next >> [join, strict]
    right >> right_next >> [join, strict]
    grp >> join

    legacy = BranchPythonOperator(task_id="legacy_branch", python_callable=lambda: "never_runs_not")
    EmptyOperator(task_id="never_runs") << legacy >> EmptyOperator(task_id="never_runs_not")
