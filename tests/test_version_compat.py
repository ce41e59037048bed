"""bridge.version_compat: the one Airflow-line flag and the one `is_mapped`, checked against real Airflow."""

from __future__ import annotations

import subprocess
import sys

from bridge.version_compat import AIRFLOW_3, AIRFLOW_LINE, AIRFLOW_MAJOR, AIRFLOW_VERSION, is_mapped


def test_the_flag_is_the_installed_airflow() -> None:
    import airflow

    assert AIRFLOW_VERSION == airflow.__version__
    assert AIRFLOW_MAJOR == int(airflow.__version__.split(".")[0]) and AIRFLOW_3 == (AIRFLOW_MAJOR >= 3)


def test_reading_the_flag_does_not_import_airflow() -> None:
    # The task runner sets Airflow's environment after importing this module, before Airflow.
    code = "import sys, bridge.version_compat; assert 'airflow' not in sys.modules, 'airflow was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_run_task_inline_calls_the_lines_run_task_as_it_is_defined() -> None:
    # dag.test()'s helper takes the task beside the instance from Airflow 3.1 on; 3.0's reads ti.task.
    import inspect

    if AIRFLOW_3:
        from airflow.sdk.definitions.dag import _run_task

        expected = {"ti", "task", "run_triggerer"} if AIRFLOW_LINE >= (3, 1) else {"ti", "run_triggerer"}
    else:
        from airflow.models.dag import _run_task  # type: ignore[attr-defined, no-redef, unused-ignore]

        expected = {"ti", "inline_trigger", "mark_success", "session"}
    assert set(inspect.signature(_run_task).parameters) == expected


def test_is_mapped_matches_the_lines_mapped_operator() -> None:
    if AIRFLOW_3:
        from airflow.providers.standard.operators.bash import BashOperator
        from airflow.sdk import DAG, task
        from airflow.sdk.definitions.mappedoperator import MappedOperator
    else:
        # Airflow 2's homes of the same names (what mypy sees depends on the installed line).
        from airflow import DAG  # type: ignore[no-redef, unused-ignore]
        from airflow.decorators import task  # type: ignore[no-redef, unused-ignore]
        from airflow.models.mappedoperator import MappedOperator  # type: ignore[no-redef, unused-ignore]
        from airflow.operators.bash import BashOperator  # type: ignore[no-redef, unused-ignore]

    @task
    def double(x: int) -> int:
        return 2 * x

    with DAG("version_compat_probe", schedule=None):
        tasks = [
            BashOperator(task_id="plain", bash_command="true"),
            BashOperator.partial(task_id="classic").expand(bash_command=["a", "b"]),
            double.expand(x=[1, 2]).operator,
            double(1).operator,
        ]
    assert [is_mapped(t) for t in tasks] == [isinstance(t, MappedOperator) for t in tasks] == [False, True, True, False]
