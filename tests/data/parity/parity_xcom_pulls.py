"""Airflow parity corpus: XComs pulled from tasks that are not direct upstreams, each way bridge
finds them (bridge/airflow/xcom_refs.py): a literal id in a template, in a template file, in a
Python callable, a dynamic pull (every ancestor), a mapped producer, and an ancestor whose every
path to the puller was skipped. Each puller fails unless it sees the right values."""

import pendulum
from _compat import DAG, BashOperator, EmptyOperator, ShortCircuitOperator, task

with DAG("parity_xcom_pulls", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None,
         template_searchpath=[__import__("os").path.join(__import__("os").path.dirname(__file__), "scripts")]) as dag:

    @task
    def extract():
        return {"rows": 3}

    @task
    def numbers():
        return [1, 2, 3]

    @task
    def double(n):
        return 2 * n

    source = extract()
    doubled = double.expand(n=numbers())
    middle = EmptyOperator(task_id="middle")
    later = EmptyOperator(task_id="later")
    source >> middle >> later
    doubled >> later

    in_template = BashOperator(
        task_id="in_template",
        bash_command="test '{{ ti.xcom_pull(task_ids='extract')['rows'] }}' = 3",
    )
    in_file = BashOperator(task_id="in_file", bash_command="pull_extract.sh")

    @task
    def in_callable(ti=None):
        assert ti.xcom_pull(task_ids="extract") == {"rows": 3}
        assert list(ti.xcom_pull(task_ids="double")) == [2, 4, 6]

    @task
    def dynamic(ti=None):
        name = "ext" + "ract"
        assert ti.xcom_pull(task_ids=name) == {"rows": 3}

    later >> [in_template, in_file, in_callable(), dynamic()]

    # All paths from `extract` to `after_skip` are skipped; Airflow still has extract's XCom.
    gate = ShortCircuitOperator(task_id="gate", python_callable=lambda: False, ignore_downstream_trigger_rules=False)
    skipped = EmptyOperator(task_id="skipped")

    @task(trigger_rule="none_failed")
    def after_skip(ti=None):
        assert ti.xcom_pull(task_ids="extract") == {"rows": 3}

    source >> gate >> skipped >> after_skip()
