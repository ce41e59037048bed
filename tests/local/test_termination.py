"""Terminating a run (SIGTERM, SIGHUP, Ctrl-C) stops every pod it started: pods run in sessions of their own."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.local.builders import task, workflow

ROOT = Path(__file__).resolve().parents[2]

# The engine as its own process: run a Workflow, print the summary, exit 0 exactly when it succeeded.
DRIVER = """
import json, sys
from bridge.local import ProgressPrinter, format_summary, run_workflow
result = run_workflow(json.loads(sys.argv[1]), split_dir=sys.argv[2], log_dir=sys.argv[3], grace_seconds=2.0,
                      on_event=ProgressPrinter(sys.stdout))
print(format_summary(result))
print("RUN " + result.phase + ": " + result.message)
sys.exit(0 if result.phase == "Succeeded" else 1)
"""

# The pod writes its process id into its scratch folder (its /tmp, the working directory), then sleeps.
SLEEPER = "open('pid', 'w').write(str(os.getpid()))\ntime.sleep(300)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill_leftovers(pid: int) -> None:
    """Never leave a test's pod behind, whatever the run did."""
    for kill in (lambda: os.killpg(os.getpgid(pid), signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except (ProcessLookupError, PermissionError):
            pass


def _wait_for(path: Path, seconds: float = 60.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stop_signal_stops_every_running_pod_and_fails_the_run(tmp_path: Path, signum: int) -> None:
    doc = workflow([task("sleeper", SLEEPER), task("other", SLEEPER), task("after", "pass", depends="sleeper")])
    logs = tmp_path / "logs"
    child = subprocess.Popen(
        [sys.executable, "-c", DRIVER, json.dumps(doc), str(tmp_path / "split"), str(logs)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        # The run's own handling of the signal is under test: under `nohup pytest` SIGHUP would come
        # in ignored, and bridge run rightly keeps it so (test_an_ignored_signal_stays_ignored).
        preexec_fn=lambda: signal.signal(signum, signal.SIG_DFL),
    )
    pids: list[int] = []
    try:
        pids = [int(_wait_for(logs / "pods" / pod / "pid")) for pod in ("sleeper", "other")]
        pgid = os.getpgid(pids[0])
        assert pgid != os.getpgid(child.pid)  # the pod has a session of its own: the signal does not reach it
        child.send_signal(signum)
        output, _ = child.communicate(timeout=60)
        gone = not _group_alive(pgid) and not any(_alive(p) for p in pids)
    finally:
        if child.poll() is None:
            child.kill()
        for leftover in pids:
            _kill_leftovers(leftover)
    assert gone, output
    assert child.returncode == 1, output
    name = signal.Signals(signum).name
    assert f"RUN Failed: Stopped: the run was interrupted ({name})" in output
    for pod in ("sleeper", "other"):
        assert re.search(rf"{pod}: failed, exit code -15: Stopped: the run was interrupted \({name}\)", output), output
    assert "after:" not in output.split("TASK")[0]  # nothing starts after the stop
    assert re.search(rf"workflow test-\w+: Failed \(Stopped: the run was interrupted \({name}\)\) in ", output), output


def test_an_ignored_signal_stays_ignored(tmp_path: Path) -> None:
    """`nohup bridge run …`: SIGHUP is ignored before the run starts, and the run keeps it so."""
    doc = workflow([task("sleeper", "time.sleep(1.5)")])
    driver = "import signal; signal.signal(signal.SIGHUP, signal.SIG_IGN)\n" + DRIVER
    child = subprocess.Popen(
        [sys.executable, "-c", driver, json.dumps(doc), str(tmp_path / "split"), str(tmp_path / "logs")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        _wait_for(tmp_path / "logs" / "sleeper.log")
        child.send_signal(signal.SIGHUP)
        output, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0 and "RUN Succeeded" in output, output


TERMINATED_DAG = '''
import pendulum
from airflow import DAG
try:
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:
    from airflow.operators.python import PythonOperator


def sleep_long():
    import os, time
    with open(os.environ["BRIDGE_TEST_PIDFILE"], "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(300)


with DAG("terminated", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    PythonOperator(task_id="sleepy", python_callable=sleep_long)
'''


@pytest.mark.skipif(importlib.util.find_spec("airflow") is None, reason="needs Apache Airflow")
def test_terminating_bridge_run_stops_its_pods_and_exits_non_zero(tmp_path: Path) -> None:
    dag_file = tmp_path / "terminated.py"
    dag_file.write_text(TERMINATED_DAG)
    pid_file = tmp_path / "task.pid"
    report_file = tmp_path / "report.json"
    child = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "run", str(dag_file), "--run-date", "2024-01-01", "--report", str(report_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "BRIDGE_TEST_PIDFILE": str(pid_file)},
    )
    pid = 0
    try:
        pid = int(_wait_for(pid_file, 240))
        pgid = os.getpgid(pid)
        assert pgid != os.getpgid(child.pid)
        child.send_signal(signal.SIGTERM)  # what `timeout 400 bridge run ...` sends
        output, _ = child.communicate(timeout=120)
        gone = not _group_alive(pgid) and not _alive(pid)
    finally:
        if child.poll() is None:
            child.kill()
        if pid:
            _kill_leftovers(pid)
    assert gone, output
    assert child.returncode == 1, output
    kept = re.search(r"task logs kept in (\S+)", output)
    if kept:
        shutil.rmtree(kept.group(1), ignore_errors=True)
    assert re.search(r"sleepy: failed, exit code \d+: Stopped: the run was interrupted \(SIGTERM\)", output), output
    assert "bridge: error: Stopped: the run was interrupted (SIGTERM); every pod it started was stopped" in output
    assert json.loads(report_file.read_text())["tasks"] == {"sleepy": "failed"}
