"""Dynamically mapped tasks: bridge-task expands the task from the upstream XCom and runs every map index."""

from __future__ import annotations

import json

from tests.runtime.conftest import write_dag

MAPPED = '''
with DAG("mapped", start_date=START, schedule=None):

    @task
    def numbers():
        return [1, 2, 3]

    @task
    def square(x):
        if x == 2:
            raise AirflowSkipException("two skips")
        return x * x

    @task
    def fail_two(x):
        if x == 2:
            raise RuntimeError("two fails")
        return x

    @task
    def none():
        return []

    listed = numbers()
    square.expand(x=listed)
    fail_two.expand(x=listed)
    square.override(task_id="empty").expand(x=none())
    BashOperator.partial(task_id="echo").expand(bash_command=["echo a", "echo b"])
'''
XCOM_IN = (
    '{"rows":[{"task_id":"numbers","map_index":-1,"key":"return_value","value":"[1, 2, 3]"},'
    '{"task_id":"none","map_index":-1,"key":"return_value","value":"[]"}]}\n'
)


def _states(run) -> list[str]:
    return json.loads((run.outputs / "states").read_text())


def _rows(run, task_id: str) -> dict[int, object]:
    doc = json.loads((run.outputs / "xcom.json").read_text())
    return {r["map_index"]: json.loads(r["value"]) for r in doc["rows"] if r["task_id"] == task_id}


def test_every_map_index_runs_in_one_pod(tmp_path, run_task) -> None:
    files = write_dag(tmp_path, "mapped", MAPPED, ["square", "fail_two", "empty", "echo"])
    xcom_in = tmp_path / "in.json"
    xcom_in.write_text(XCOM_IN)
    args = ("--run-date", "2024-01-02", "--xcom-in", str(xcom_in))

    mixed = run_task(files["square"], *args)
    assert mixed.returncode == 0, mixed.log
    assert (mixed.state, _states(mixed)) == ("mixed", ["success", "skipped", "success"])
    assert _rows(mixed, "square") == {0: 1, 2: 9}
    assert _rows(mixed, "numbers") == {}  # received rows are not passed on: downstream reads numbers itself

    failed = run_task(files["fail_two"], *args)
    assert failed.returncode == 1
    assert (failed.state, _states(failed)) == ("failed", ["success", "failed", "success"])
    assert _rows(failed, "fail_two") == {0: 1, 2: 3}

    empty = run_task(files["empty"], *args)  # zero-length expansion: Airflow skips the task
    assert empty.returncode == 0, empty.log
    assert (empty.state, _states(empty)) == ("skipped", [])

    literal = run_task(files["echo"], "--run-date", "2024-01-02")  # no upstream: a literal list
    assert literal.returncode == 0, literal.log
    assert (literal.state, _states(literal)) == ("success", ["success", "success"])
    assert _rows(literal, "echo") == {0: "a", 1: "b"}
