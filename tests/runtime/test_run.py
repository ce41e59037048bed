"""`bridge-task run` end to end: one real Airflow task per process, as in an Argo pod."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.runtime.conftest import AIRFLOW_MAJOR, task_command, write_dag

TEMPLATES = '''
with DAG("templates", start_date=START, schedule="@daily", catchup=False,
         params={"name": "nobody", "n": 1}) as dag:
    BashOperator(
        task_id="dates",
        bash_command="echo 'ds={{ ds }} nodash={{ ds_nodash }} plus5={{ macros.ds_add(ds, 5) }} "
                     "start={{ data_interval_start.isoformat() }} end={{ data_interval_end.isoformat() }} "
                     "run_id={{ run_id }}'",
    )
    PythonOperator(
        task_id="params",
        python_callable=lambda name, n: {"name": name, "n": n, "type": type(n).__name__},
        op_kwargs={"name": "{{ params.name }}", "n": "{{ params.n }}"},
    )
'''


@pytest.fixture
def templates(tmp_path: Path):
    """A daily DAG with a templated Bash task and a params-reading Python task."""
    return write_dag(tmp_path, "templates", TEMPLATES, ["dates", "params"])


def test_bash_renders_dates_for_the_timetable(templates, run_task) -> None:
    run = run_task(templates["dates"], "--run-date", "20240102", "--run-id", "")  # "" = default
    assert run.returncode == 0, run.log
    assert run.state == "success" and run.branch is None
    line = run.xcom[("dates", "return_value")]
    assert "ds=2024-01-02 nodash=20240102 plus5=2024-01-07" in line
    assert "run_id=manual__2024-01-02T00:00:00+00:00" in line
    # On the schedule: Airflow 2 daily cron = data-interval timetable (the day that starts at
    # the logical date); Airflow 3 default = CronTriggerTimetable (a zero-length interval).
    end = "2024-01-03" if AIRFLOW_MAJOR == 2 else "2024-01-02"
    assert f"start=2024-01-02T00:00:00+00:00 end={end}T00:00:00+00:00" in line
    assert "ds=2024-01-02" in run.stdout  # the Bash output streamed to stdout


def test_off_schedule_date_uses_the_manual_interval_and_run_id(templates, run_task) -> None:
    run = run_task(templates["dates"], "--run-date", "2024-01-02T06:30:00", "--run-id", "my-run")
    assert run.returncode == 0, run.log
    line = run.xcom[("dates", "return_value")]
    assert "ds=2024-01-02" in line and "run_id=my-run" in line
    # Airflow 2 infers the last complete interval before a manual run; Airflow 3 an exact one.
    start = "2024-01-01T00:00:00" if AIRFLOW_MAJOR == 2 else "2024-01-02T06:30:00"
    end = "2024-01-02T00:00:00" if AIRFLOW_MAJOR == 2 else "2024-01-02T06:30:00"
    assert f"start={start}+00:00 end={end}+00:00" in line


def test_params_come_from_param_flags(templates, run_task) -> None:
    run = run_task(templates["params"], "--run-date", "2024-01-02", "--param", "name=world", "--param", "n=3")
    assert run.returncode == 0, run.log
    assert run.xcom[("params", "return_value")] == {"name": "world", "n": "3", "type": "str"}


OUTCOMES = '''
import os, time
from datetime import timedelta
try:
    from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
except ImportError:
    from airflow.sensors.date_time import DateTimeSensorAsync

def _fail(context):
    open(os.environ["MARKER_DIR"] + "/failure_callback", "w").write(context["ti"].task_id)

class Sleeper(PythonOperator):
    def on_kill(self):
        open(os.environ["MARKER_DIR"] + "/on_kill", "w").write("killed")

def _sleep():
    open(os.environ["MARKER_DIR"] + "/started", "w").write("started")
    time.sleep(60)

def _boom():
    raise ValueError("boom from the task")

def _skip():
    raise AirflowSkipException("nothing to do today")

def _poke():
    path = os.environ["MARKER_DIR"] + "/pokes"
    pokes = int(open(path).read()) + 1 if os.path.exists(path) else 1
    open(path, "w").write(str(pokes))
    return pokes >= 2

def _conn():
    conn = BaseHook.get_connection("my_db")
    return {"host": conn.host, "login": conn.login, "port": conn.port}

with DAG("outcomes", start_date=START, schedule=None, on_failure_callback=_fail) as dag:
    PythonOperator(task_id="boom", python_callable=_boom, on_failure_callback=_fail)
    PythonOperator(task_id="skip", python_callable=_skip)
    Sleeper(task_id="sleep", python_callable=_sleep)
    PythonSensor(task_id="sensor", python_callable=_poke, poke_interval=1, timeout=60, mode="reschedule")
    PythonOperator(task_id="big", python_callable=lambda: "x" * 300000)
    PythonOperator(task_id="conn", python_callable=_conn)
    BashOperator(task_id="variable", bash_command="echo {{ var.value.greeting }}")
    PythonOperator(task_id="slow", python_callable=lambda: time.sleep(60), execution_timeout=timedelta(seconds=2))
    DateTimeSensorAsync(task_id="deferred",
                        target_time="{{ (macros.datetime.utcnow() + macros.timedelta(seconds=2)).isoformat() }}")
'''

OUTCOME_TASKS = ["boom", "skip", "sleep", "sensor", "big", "conn", "variable", "deferred", "slow"]


@pytest.fixture
def outcomes(tmp_path: Path):
    """Task files of a DAG whose tasks fail, skip, sleep, poke, push too much, use env secrets."""
    return write_dag(tmp_path, "outcomes", OUTCOMES, OUTCOME_TASKS)


@pytest.fixture
def markers(tmp_path: Path):
    """A folder the DAG's callables write marker files to."""
    folder = tmp_path / "markers"
    folder.mkdir()
    return folder


def test_failing_task_exits_1_with_traceback_and_runs_its_callback(outcomes, markers, run_task) -> None:
    (upstream := markers / "in.json").write_text('{"rows":[{"task_id":"a","map_index":-1,"key":"k","value":"1"}]}')
    run = run_task(outcomes["boom"], "--run-date", "20240102", "--xcom-in", str(upstream),
                   env={"MARKER_DIR": str(markers)})
    assert run.returncode == 1
    assert run.state == "failed" and run.branch is None
    assert "Traceback" in run.log and "ValueError: boom from the task" in run.log
    assert (markers / "failure_callback").read_text() == "boom"
    assert run.xcom == {}  # only its own rows: all_done/one_failed tasks read `a` directly


def test_skip_exception_exits_0_skipped(outcomes, run_task, tmp_path) -> None:
    state = tmp_path / "state"
    run = run_task(outcomes["skip"], "--run-date", "20240102",
                   env={"BRIDGE_STATE_DIR": str(state), "BRIDGE_KEEP_STATE": "1"})
    assert run.returncode == 0, run.log
    assert run.state == "skipped"
    # The throwaway Airflow lived under BRIDGE_STATE_DIR (kept here for debugging).
    (kept,) = state.iterdir()
    assert (kept / "airflow.db").is_file() and f"kept state in {kept}" in run.stderr


def test_reschedule_sensor_pokes_until_true(outcomes, markers, run_task) -> None:
    run = run_task(outcomes["sensor"], "--run-date", "20240102", env={"MARKER_DIR": str(markers)})
    assert run.returncode == 0, run.log
    assert run.state == "success"
    assert (markers / "pokes").read_text() == "2"


def test_execution_timeout_fails_the_task(outcomes, run_task) -> None:
    run = run_task(outcomes["slow"], "--run-date", "20240102")
    assert run.returncode == 1
    assert run.state == "failed" and "AirflowTaskTimeout" in run.log


def test_deferrable_operator_runs_its_trigger_inline(outcomes, run_task) -> None:
    run = run_task(outcomes["deferred"], "--run-date", "20240102")
    assert run.returncode == 0, run.log
    assert run.state == "success"
    assert "running trigger in line" in run.log  # as `airflow dags test`: no triggerer process


def test_sigterm_runs_on_kill_and_fails(outcomes, markers, db_template, tmp_path) -> None:
    outputs = tmp_path / "killed"
    env = dict(os.environ, BRIDGE_DB_TEMPLATE=db_template, MARKER_DIR=str(markers))
    proc = subprocess.Popen(task_command(outcomes["sleep"], "--run-date", "20240102", "--outputs", str(outputs)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 120
    while not (markers / "started").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    log, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, log
    assert (markers / "on_kill").read_text() == "killed", log
    assert (outputs / "state").read_text().strip() == "failed", log


# bridge-task with the loop's call into Airflow replaced by one that raises before the task starts
# (what a call Airflow's `_run_task` does not accept does: bridge's own on 3.0, before it used
# 3.0's signature).
BROKEN_CALL = """\
import sys
import bridge.runtime.loop as loop

def broken(ti, task, session):
    raise TypeError("_run_task() got an unexpected keyword argument 'task'")

loop.run_task_inline = broken
from bridge.runtime.cli import main
sys.argv[0] = "bridge-task"
main()
"""


def test_an_error_before_the_task_starts_fails_it_instead_of_looping(outcomes, db_template, tmp_path) -> None:
    # The instance stays scheduled after such an error; the loop used to run it again, for ever.
    outputs = tmp_path / "broken"
    env = dict(os.environ, BRIDGE_DB_TEMPLATE=db_template)
    done = subprocess.run(
        [sys.executable, "-c", BROKEN_CALL, "run", str(outcomes["boom"]), "--run-date", "20240102",
         "--outputs", str(outputs)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 1, log
    assert (outputs / "state").read_text().strip() == "failed", log
    assert log.count("unexpected keyword argument 'task'") == 1, log  # one try, not a loop
    assert "task 'boom' did not finish (state scheduled); marking it failed" in log


def test_xcom_over_argo_limit_exits_3(outcomes, run_task) -> None:
    run = run_task(outcomes["big"], "--run-date", "20240102")
    assert run.returncode == 3, run.log
    assert "task 'big': XCom key 'return_value' is 300002 bytes" in run.stderr
    assert "256 KiB" in run.stderr and "XComObjectStorageBackend" in run.stderr
    assert json.loads((run.outputs / "xcom.json").read_text()) == {"rows": []}


def test_connections_and_variables_come_from_env(outcomes, run_task) -> None:
    env = {"AIRFLOW_CONN_MY_DB": "postgres://user:secret@db.example:5433/sales", "AIRFLOW_VAR_GREETING": "hej"}
    conn = run_task(outcomes["conn"], "--run-date", "20240102", env=env)
    assert conn.returncode == 0, conn.log
    assert conn.xcom[("conn", "return_value")] == {"host": "db.example", "login": "user", "port": 5433}
    variable = run_task(outcomes["variable"], "--run-date", "20240102", env=env)
    assert variable.returncode == 0, variable.log
    assert variable.xcom[("variable", "return_value")] == "hej"


def test_missing_template_migrates_with_a_notice(outcomes, run_task, tmp_path) -> None:
    run = run_task(outcomes["skip"], "--run-date", "20240102", env={"BRIDGE_DB_TEMPLATE": str(tmp_path / "none.db")})
    assert run.returncode == 0, run.log
    assert run.stderr.count("no database template at") == 1


def test_broken_dag_file_fails_with_outputs(tmp_path, run_task) -> None:
    files = write_dag(tmp_path, "broken", 'raise ImportError("no module named warehouse")\n', ["load"])
    (upstream := tmp_path / "in.json").write_text('{"rows":[{"task_id":"a","map_index":-1,"key":"k","value":"1"}]}')
    run = run_task(files["load"], "--run-date", "20240102", "--xcom-in", str(upstream))
    assert run.returncode == 1
    assert "the DAG file failed to import" in run.stderr and "no module named warehouse" in run.stderr
    assert run.state == "failed" and run.branch is None and run.xcom == {("a", "k"): 1}
    assert "task 'load' ended failed (exit 1)" in run.stderr


def test_bad_flags_are_usage_errors(outcomes, run_task) -> None:
    run = run_task(outcomes["skip"], "--run-date", "2024-13-45")
    assert run.returncode == 2 and "run date '2024-13-45'" in run.stderr
    run = run_task(outcomes["skip"], "--run-date", "20240102", "--param", "novalue")
    assert run.returncode == 2 and "NAME=VALUE" in run.stderr
    (bad := outcomes["skip"].parent / "bad.json").write_text('{"rows": [1]}')
    run = run_task(outcomes["skip"], "--run-date", "20240102", "--xcom-in", str(bad))
    assert run.returncode == 2 and "each row must be an object" in run.stderr


@pytest.mark.skipif(AIRFLOW_MAJOR < 3, reason="Airflow 2 has a backfill mode")
def test_backfill_mode_is_a_usage_error_on_airflow_3(outcomes, run_task) -> None:
    run = run_task(outcomes["skip"], "--run-date", "20240102", "--mode", "backfill")
    assert run.returncode == 2 and "needs Airflow 2" in run.stderr
