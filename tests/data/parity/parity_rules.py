"""Airflow parity corpus: every trigger rule over upstreams that succeed, fail, skip, or never run."""

import pendulum
from _compat import DAG, AirflowSkipException, EmptyOperator, task

RULES = [
    "all_success", "all_failed", "all_done", "all_skipped", "one_success", "one_failed", "one_done",
    "none_failed", "none_failed_min_one_success", "none_skipped", "always",
]
# Upstream pairs: s = success, f = failed, k = skipped inside the task, u = upstream_failed.
PAIRS = ["sf", "sk", "fk", "ku", "ss"]

with DAG("parity_rules", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:

    @task
    def ok():
        return "ok"

    @task
    def boom():
        raise RuntimeError("this task fails on purpose")

    @task
    def skip():
        raise AirflowSkipException("skipped on purpose")

    sources = {"s": ok(), "f": boom(), "k": skip()}
    sources["u"] = EmptyOperator(task_id="after_failure")
    sources["f"] >> sources["u"]
    for rule in RULES:
        for pair in PAIRS:
            target = EmptyOperator(task_id=f"{rule}__{pair}", trigger_rule=rule)
            for letter in sorted(set(pair)):
                sources[letter] >> target
