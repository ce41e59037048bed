"""Airflow parity corpus: dynamic task mapping (TaskFlow and classic .partial().expand(), a consumer of
all map indexes, a zero-length expansion, a failing index followed by an all_done task, a skipping index followed by
all_success and none_failed_min_one_success consumers, expand_kwargs)."""

import pendulum
from _compat import DAG, AirflowSkipException, BashOperator, task

with DAG("parity_mapping", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:

    @task
    def numbers():
        return [1, 2, 3]

    @task
    def double(x):
        return 2 * x

    @task
    def total(values, expected):
        assert sum(values) == expected, list(values)

    @task
    def nothing():
        return []

    @task
    def never(x):
        return x

    @task
    def fragile(x):
        if x == 2:
            raise RuntimeError("index for 2 fails")
        return x

    @task(trigger_rule="all_done")
    def report(values):
        assert list(values) == [1, 3], list(values)  # the failed index pushed nothing

    @task
    def maybe(x):
        if x == 2:
            raise AirflowSkipException("index for 2 skips")
        return x

    @task
    def needs_all(values):
        print(list(values))

    @task(trigger_rule="none_failed_min_one_success")
    def needs_one(values):
        assert sorted(values) == [1, 3], list(values)

    @task
    def kwargs_list():
        return [{"x": 10}, {"x": 20}]

    listed = numbers()
    doubled = double.expand(x=listed)
    total(doubled, 12)
    BashOperator.partial(task_id="echo").expand(bash_command=["echo a", "echo b"])
    never.expand(x=nothing())
    report(fragile.expand(x=listed))
    some = maybe.expand(x=listed)
    needs_all(some)
    needs_one(some)
    total.override(task_id="total_kwargs")(double.override(task_id="double_kwargs").expand_kwargs(kwargs_list()), 60)
