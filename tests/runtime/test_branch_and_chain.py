"""Branch decisions, pod-by-pod XCom wiring against `airflow dags test`, and Airflow 2 backfill parity."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runtime.conftest import AIRFLOW_MAJOR, write_dag

BRANCHES = '''
with DAG("branches", start_date=START, schedule=None) as dag:
    op = BranchPythonOperator(task_id="op", python_callable=lambda: ["b", "grp"])

    @task.branch
    def deco():
        return None

    sc_false = ShortCircuitOperator(task_id="sc_false", python_callable=lambda: 0)
    sc_true = ShortCircuitOperator(task_id="sc_true", python_callable=lambda: "yes")
    a, b, after1, after2 = (EmptyOperator(task_id=t) for t in ("a", "b", "after1", "after2"))
    with TaskGroup("grp") as grp:
        first = EmptyOperator(task_id="first")
        first >> EmptyOperator(task_id="second")
    op >> [a, b, grp]
    deco() >> [a, b]
    sc_false >> after1
    sc_true >> [after1, after2]
'''


@pytest.fixture
def branches(tmp_path: Path):
    """Branch, @task.branch and short-circuit tasks whose downstream tasks are in other task files."""
    return write_dag(tmp_path, "branches", BRANCHES, ["op", "deco", "sc_false", "sc_true"])


@pytest.mark.parametrize(
    "task_id, followed",
    [
        ("op", ["b", "grp.first"]),  # the task group expands to its root task ids
        ("deco", []),  # None: follow nothing
        ("sc_false", []),  # short-circuit: skip all downstream
        ("sc_true", ["after1", "after2"]),  # short-circuit: follow every direct downstream task
    ],
)
def test_branch_file_records_the_decision(branches, run_task, task_id: str, followed) -> None:
    run = run_task(branches[task_id], "--run-date", "20240102")
    assert run.returncode == 0, run.log
    assert run.state == "success"
    assert run.branch == followed
    if task_id == "op":  # the XCom Airflow's skip logic pushes for NotPreviouslySkippedDep
        assert run.xcom[("op", "skipmixin_key")] == {"followed": ["b", "grp.first"]}


CHAIN = '''
with DAG("chain", start_date=START, schedule="@daily") as dag:
    @task
    def extract(ds=None):
        return {"day": ds, "values": [1, 2, 3]}

    @task
    def transform(data):
        return {"day": data["day"], "total": sum(data["values"]), "tuple": (1, "two")}

    @task
    def load(summary, **context):
        pulled = context["ti"].xcom_pull(task_ids="extract")
        return f"{summary['day']}: {summary['total']} of {len(pulled['values'])} {list(summary['tuple'])}"

    load(transform(extract()))
'''


def _dags_test_result(root: Path, template: str, tmp_path: Path) -> object:
    """Run `airflow dags test` on the ORIGINAL DAG file and read load's return value from its DB."""
    home = tmp_path / "dags-test-home"
    home.mkdir()
    db = home / "airflow.db"
    db.write_bytes(Path(template).read_bytes())
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "sources" / "chain"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    done = subprocess.run([airflow, "dags", "test", "chain", "2024-01-02"], capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(db) as connection:
        (value,) = connection.execute(
            "SELECT value FROM xcom WHERE dag_id='chain' AND task_id='load' AND key='return_value'"
        ).fetchone()
    return json.loads(value.decode() if isinstance(value, bytes) else value)


def test_taskflow_chain_pod_by_pod_matches_airflow_dags_test(tmp_path, run_task, db_template) -> None:
    files = write_dag(tmp_path, "chain", CHAIN, ["extract", "transform", "load"])
    xcom_in = tmp_path / "in.json"
    xcom_in.write_text("{}")
    final = None
    documents: dict[str, str] = {}
    # The Workflow feeds each task the xcom outputs of its sources: its direct upstream, and the
    # ancestor it pulls by a literal id (load pulls extract; bridge/airflow/xcom_refs.py).
    sources = {"extract": [], "transform": ["extract"], "load": ["extract", "transform"]}
    for task_id in ("extract", "transform", "load"):
        xcom_in.write_text("".join(documents[source] for source in sources[task_id]) or "{}")
        run = run_task(files[task_id], "--run-date", "20240102", "--xcom-in", str(xcom_in))
        assert run.returncode == 0, run.log
        documents[task_id] = (run.outputs / "xcom.json").read_text()
        final = run.xcom
        assert {t for t, _ in final} == {task_id}  # a task's output holds only its own rows
    assert set(final) == {("load", "return_value")}
    assert final[("load", "return_value")] == "2024-01-02: 6 of 3 [1, 'two']"
    assert final[("load", "return_value")] == _dags_test_result(tmp_path, db_template, tmp_path)


PARITY = '''
import json
with DAG("parity", start_date=START, schedule="@daily", params={"who": "nobody"}) as dag:
    @task
    def show(**context):
        ti = context["ti"]
        return {
            "ds": context["ds"], "ds_nodash": context["ds_nodash"], "run_id": context["run_id"],
            "start": context["data_interval_start"].isoformat(), "end": context["data_interval_end"].isoformat(),
            "who": context["params"]["who"], "upstream": ti.xcom_pull(task_ids="up"),
            "plus": context["macros"].ds_add(context["ds"], 3),
        }

    @task
    def boom():
        raise RuntimeError("parity failure")

    BranchPythonOperator(task_id="pick", python_callable=lambda: "show") >> [show(), boom()]
'''


@pytest.mark.skipif(AIRFLOW_MAJOR != 2, reason="backfill mode exists on Airflow 2 only")
@pytest.mark.parametrize("task_id", ["show", "boom", "pick"])
def test_inprocess_matches_backfill(tmp_path, run_task, task_id: str) -> None:
    files = write_dag(tmp_path, "parity", PARITY, ["show", "boom", "pick"])
    xcom_in = tmp_path / "in.json"
    xcom_in.write_text('{"rows":[{"task_id":"up","map_index":-1,"key":"return_value","value":"[1, 2]"}]}\n')
    args = ("--run-date", "2024-01-02", "--param", "who=me", "--xcom-in", str(xcom_in), "--run-id", "manual__x")
    inprocess = run_task(files[task_id], *args)
    backfill = run_task(files[task_id], *args, "--mode", "backfill")
    assert (inprocess.returncode, inprocess.state, inprocess.branch) == (
        backfill.returncode, backfill.state, backfill.branch)
    assert inprocess.xcom == backfill.xcom
    if task_id == "show":
        assert inprocess.returncode == 0, inprocess.log
        assert inprocess.xcom[("show", "return_value")] == {
            "ds": "2024-01-02", "ds_nodash": "20240102", "run_id": "manual__x", "who": "me",
            "start": "2024-01-02T00:00:00+00:00", "end": "2024-01-03T00:00:00+00:00",
            "upstream": [1, 2], "plus": "2024-01-05",
        }
    elif task_id == "pick":  # the branch hooks reach `airflow tasks run` through a task policy
        assert inprocess.branch == ["show"]
    else:
        assert inprocess.returncode == 1
        assert "RuntimeError: parity failure" in inprocess.log
        assert "RuntimeError: parity failure" in backfill.log


POOLED = '''
with DAG("pooled", start_date=START, schedule="@daily") as dag:
    @task(pool="warehouse", pool_slots=2)
    def load():
        return "loaded"

    load()
'''


@pytest.mark.skipif(AIRFLOW_MAJOR != 2, reason="backfill mode exists on Airflow 2 only")
def test_backfill_mode_runs_a_task_of_a_pool_the_throwaway_database_never_had(tmp_path, run_task) -> None:
    files = write_dag(tmp_path, "pooled", POOLED, ["load"])
    backfill = run_task(files["load"], "--run-date", "2024-01-02", "--mode", "backfill")
    assert (backfill.returncode, backfill.state) == (0, "success"), backfill.log
    assert backfill.xcom[("load", "return_value")] == "loaded"
