"""Airflow 3: bridge's direct Execution API leaves the database exactly as Airflow's own app does.

Every task here runs twice through `bridge-task run`, once with the direct transport
(bridge.runtime.direct_api) and once with `BRIDGE_FULL_EXECUTION_API=1` (Airflow's app for
every call, as `dag.test()`), keeping each throwaway database; the rows the Execution API
writes (task instances and their history, XCom, rendered fields, task maps, the audit log)
must be equal, volatile columns (ids, times, pids) reduced to "set or not".
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.runtime.conftest import AIRFLOW_MAJOR, DAG_HEADER, write_dag

pytestmark = pytest.mark.skipif(AIRFLOW_MAJOR < 3, reason="the Execution API exists on Airflow 3 only")

FALLBACK = "goes to Airflow's Execution API app"

SOURCE = '''
from datetime import timedelta
import os

def _push(ti, ds):
    ti.xcom_push(key="nested/key", value={"ds": ds})
    upstream = ti.xcom_pull(task_ids="up")
    missing = ti.xcom_pull(task_ids="up", key="nope")
    return {"got": upstream, "missing": missing}

def _fails(ti):
    raise ValueError(f"try {ti.try_number} fails")

def _skip():
    raise AirflowSkipException("not today")

def _poke():
    path = os.environ["MARKER_DIR"] + "/pokes"
    pokes = int(open(path).read()) + 1 if os.path.exists(path) else 1
    open(path, "w").write(str(pokes))
    return pokes >= 2

with DAG("direct", start_date=START, schedule="@daily") as dag:
    up = EmptyOperator(task_id="up")
    bash = BashOperator(task_id="bash", bash_command="echo {{ ds }} {{ params.who }}", params={"who": "me"})
    push = PythonOperator(task_id="push", python_callable=_push)
    fails = PythonOperator(task_id="fails", python_callable=_fails, retries=1, retry_delay=timedelta(0))
    skip = PythonOperator(task_id="skip", python_callable=_skip)
    pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "left")
    left, right = EmptyOperator(task_id="left"), EmptyOperator(task_id="right")
    gate = ShortCircuitOperator(task_id="gate", python_callable=lambda: False)
    after = EmptyOperator(task_id="after")
    sensor = PythonSensor(task_id="sensor", python_callable=_poke, poke_interval=1, timeout=60, mode="reschedule")

    @task
    def numbers():
        return [1, 2, 3]

    @task
    def square(x):
        return x * x

    @task
    def total(values):
        return sum(values)

    listed = numbers()
    total(square.expand(x=listed))
    up >> [bash, push]
    pick >> [left, right]
    gate >> after
'''

XCOM_IN = (
    '{"rows":[{"task_id":"up","map_index":-1,"key":"return_value","value":"\\"from up\\""},'
    '{"task_id":"numbers","map_index":-1,"key":"return_value","value":"[1, 2, 3]"},'
    '{"task_id":"square","map_index":0,"key":"return_value","value":"1"},'
    '{"task_id":"square","map_index":1,"key":"return_value","value":"4"},'
    '{"task_id":"square","map_index":2,"key":"return_value","value":"9"}]}\n'
)

# Columns the Execution API writes; volatile ones (times, pids, ids) are compared as "set or not".
TABLES = {
    "task_instance": ("task_id", "map_index", "state", "try_number", "max_tries", "hostname", "unixname",
                      "rendered_map_index", "next_method", "next_kwargs", "retry_reason",
                      "retry_delay_override", "?start_date", "?end_date", "?duration", "?pid",
                      "?last_heartbeat_at"),
    "task_instance_history": ("task_id", "map_index", "state", "try_number", "retry_reason", "?end_date",
                              "?duration"),
    "xcom": ("task_id", "map_index", "key", "value"),
    "rendered_task_instance_fields": ("task_id", "map_index", "rendered_fields"),
    "task_map": ("task_id", "map_index", "length", "keys"),
    "task_reschedule": ("?start_date", "?end_date", "?reschedule_date"),
    "log": ("event", "task_id", "map_index", "try_number", "owner", "extra"),
}


def _rows(db: Path) -> dict[str, list[tuple]]:
    connection = sqlite3.connect(db)
    try:
        found = {}
        for table, columns in TABLES.items():
            names = [c.lstrip("?") for c in columns]
            available = {r[1] for r in connection.execute(f"PRAGMA table_info({table})")}
            names = [n for n in names if n in available]
            select = ", ".join(f"{n} IS NOT NULL" if f"?{n}" in columns else n for n in names)
            rows = connection.execute(f"SELECT {select} FROM {table}").fetchall()
            found[table] = sorted(rows, key=repr)
        return found
    finally:
        connection.close()


@pytest.fixture
def direct_dag(tmp_path: Path):
    tasks = ["bash", "push", "fails", "skip", "pick", "gate", "square", "total", "sensor"]
    files = write_dag(tmp_path, "direct", SOURCE, tasks)
    xcom_in = tmp_path / "in.json"
    xcom_in.write_text(XCOM_IN)
    return files, xcom_in


def _run_both(run_task, tmp_path: Path, task_file: Path, xcom_in: Path, attempt: int = 0):
    """(direct run, full-app run), each with its kept database's rows."""
    results = []
    for mode, extra in (("direct", {}), ("full", {"BRIDGE_FULL_EXECUTION_API": "1"})):
        state_dir = tmp_path / f"state-{task_file.stem}-{attempt}-{mode}"
        markers = tmp_path / f"markers-{task_file.stem}-{attempt}-{mode}"
        markers.mkdir()
        env = {"BRIDGE_KEEP_STATE": "1", "BRIDGE_STATE_DIR": str(state_dir), "MARKER_DIR": str(markers), **extra}
        run = run_task(task_file, "--run-date", "2024-01-02", "--xcom-in", str(xcom_in), "--attempt", str(attempt),
                       env=env)
        kept = re.search(r"kept state in (\S+)", run.stderr)
        assert kept, run.log
        results.append((run, _rows(Path(kept.group(1)) / "airflow.db")))
    return results


@pytest.mark.parametrize(
    ("task_id", "attempt", "state", "code", "falls_back"),
    [
        ("bash", 0, "success", 0, False),  # rendered fields, templated command, return value
        ("push", 0, "success", 0, False),  # XCom get (found and 404), set with a slash in the key
        ("fails", 0, "up_for_retry", 1, False),  # try 1 of 2: the try archived, the row's next id
        ("fails", 1, "failed", 1, False),  # try 2 of 2 (Argo's second pod): failed for good
        ("skip", 0, "skipped", 0, False),
        ("pick", 0, "success", 0, False),  # branch: skip-downstream
        ("gate", 0, "success", 0, False),  # short-circuit: skip-downstream
        ("square", 0, "success", 0, False),  # mapped: expanded from the received TaskMap, three indexes
        ("total", 0, "success", 0, False),  # pulls a mapped upstream's values (a sequence slice)
        ("sensor", 0, "success", 0, True),  # reschedule mode: Airflow's app
    ],
)
def test_direct_api_writes_what_airflows_app_writes(direct_dag, run_task, tmp_path, task_id, attempt, state, code,
                                                    falls_back) -> None:
    files, xcom_in = direct_dag
    (direct, direct_rows), (full, full_rows) = _run_both(run_task, tmp_path, files[task_id], xcom_in, attempt)
    assert (direct.returncode, direct.state) == (code, state), direct.log
    assert (full.returncode, full.state) == (code, state), full.log
    assert direct.xcom == full.xcom
    assert direct_rows == full_rows
    assert direct_rows["task_instance"], "no task instance rows: the comparison would be empty"
    assert (FALLBACK in direct.log) is falls_back, direct.log
    assert FALLBACK not in full.log


WIDE = '''
with DAG("wide", start_date=START, schedule="@daily") as dag:
    a = BashOperator(task_id="a", bash_command="echo 1")
    a >> [EmptyOperator(task_id="b"), EmptyOperator(task_id="c"), EmptyOperator(task_id="d")]
    EmptyOperator(task_id="m")
'''


def _requests(mode: str, dag_file: Path, db_template: str, tmp_path: Path) -> dict:
    env = {**os.environ, "BRIDGE_DB_TEMPLATE": db_template, "BRIDGE_STATE_DIR": str(tmp_path / f"api-{mode}")}
    done = subprocess.run([sys.executable, "-m", "tests.runtime.api_requests", mode, str(dag_file)],
                          capture_output=True, text=True, env=env, timeout=300, check=False,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_each_direct_answer_matches_airflows_app(db_template, tmp_path) -> None:
    """The same requests, built by the task SDK's client, answered both ways: same responses, same rows."""
    dag_file = tmp_path / "dags" / "wide.py"
    dag_file.parent.mkdir()
    dag_file.write_text(DAG_HEADER + textwrap.dedent(WIDE))
    direct = _requests("direct", dag_file, db_template, tmp_path)
    full = _requests("full", dag_file, db_template, tmp_path)
    for mine, airflows in zip(direct["responses"], full["responses"], strict=True):
        assert mine == airflows
    statuses = [r["status"] for r in direct["responses"]]
    assert statuses.count(404) == 4 and 200 in statuses and 201 in statuses and 204 in statuses
    assert _rows(Path(direct["db"])) == _rows(Path(full["db"]))
    states = {row[0]: row[2] for row in _rows(Path(direct["db"]))["task_instance"]}
    assert states == {"a": "success", "b": "skipped", "c": "skipped", "d": "failed", "m": None}
    assert (direct["handed_over_before"], direct["handed_over_after"]) == (False, True)
