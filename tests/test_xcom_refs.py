"""Which XComs a task receives: the pulls bridge reads from real Airflow tasks (bridge/airflow/xcom_refs.py)
and the sources the plan gives each task (bridge/plan.py xcom_sources)."""

from __future__ import annotations

import sys

import pendulum
import pytest

from bridge.airflow.xcom_refs import pulled_task_ids
from bridge.plan import xcom_sources
from tests.helpers import DATA

sys.path.insert(0, str(DATA / "parity"))
from _compat import DAG, BashOperator, task  # noqa: E402  (the parity corpus's imports, both lines)


class ProjectOperator(BashOperator):
    """An operator class of the project (this file is no installed package) that pulls by attribute."""

    def __init__(self, source: str, **kwargs):
        super().__init__(bash_command="true", **kwargs)
        self.source = source

    def execute(self, context):
        return context["ti"].xcom_pull(task_ids=self.source)


def _notify(context):
    context["ti"].xcom_pull(task_ids="alerts_source")


@pytest.fixture(scope="module")
def tasks():
    with DAG("pulls", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:
        BashOperator(task_id="plain", bash_command="echo {{ ds }}")
        BashOperator(task_id="literal", bash_command="echo {{ ti.xcom_pull(task_ids='a') }} {{ task_instance.xcom_pull('b') }}")
        BashOperator(task_id="listed", bash_command="echo {{ ti.xcom_pull(task_ids=['a', 'c'], key='k') }}")
        BashOperator(task_id="by_param", bash_command="echo {{ ti.xcom_pull(task_ids=params.src) }}", params={"src": "a"})
        BashOperator(task_id="no_ids", bash_command="echo {{ ti.xcom_pull(key='k') }}")
        BashOperator(task_id="callback", bash_command="true", on_failure_callback=[_notify])
        ProjectOperator(task_id="project_class", source="a")

        @task
        def in_code(ti=None):
            return ti.xcom_pull(task_ids="extract"), ti.xcom_pull("load", key="rows")

        in_code()
    return dag.task_dict


@pytest.mark.parametrize("task_id, expected", [
    ("plain", ()), ("literal", ("a", "b")), ("listed", ("a", "c")), ("by_param", None), ("no_ids", None),
    ("callback", ("alerts_source",)), ("project_class", None), ("in_code", ("extract", "load")),
])
def test_pulls_are_read_from_templates_code_callbacks_and_project_classes(tasks, task_id, expected) -> None:
    assert pulled_task_ids(tasks[task_id]) == expected


UPSTREAM = {"a": (), "b": ("a",), "c": ("b",), "side": (), "d": ("c", "side")}


@pytest.mark.parametrize("pulled, expected", [
    ((), ("c", "side")),                    # upstreams only
    (("a",), ("a", "c", "side")),           # a pulled ancestor two levels up
    (("nosuch", "d"), ("c", "side")),       # not an ancestor: it may not have run, as in Airflow
    (None, ("a", "b", "c", "side")),        # dynamic: every ancestor
])
def test_sources_are_upstreams_plus_pulled_ancestors(pulled, expected) -> None:
    assert xcom_sources("d", UPSTREAM, pulled) == expected
