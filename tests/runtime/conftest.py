"""Fixtures for the task runner: DAG folders laid out as `bridge split` writes them, and a runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.version_compat import AIRFLOW_MAJOR  # noqa: F401  (the tests import it from here)

# Imports that work on both Airflow lines; every test DAG source starts with this.
DAG_HEADER = '''\
import pendulum
try:  # Airflow 3
    from airflow.sdk import DAG, BaseHook, TaskGroup, task
    from airflow.sdk.exceptions import AirflowSkipException
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.providers.standard.operators.python import (
        BranchPythonOperator, PythonOperator, ShortCircuitOperator,
    )
    from airflow.providers.standard.sensors.python import PythonSensor
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task
    from airflow.hooks.base import BaseHook
    from airflow.operators.bash import BashOperator
    from airflow.operators.empty import EmptyOperator
    from airflow.operators.python import BranchPythonOperator, PythonOperator, ShortCircuitOperator
    from airflow.sensors.python import PythonSensor
    from airflow.utils.task_group import TaskGroup
    from airflow.exceptions import AirflowSkipException

START = pendulum.datetime(2024, 1, 1, tz="UTC")
'''

TASK_FILE = '''\
from bridge.dagfile import single_task_dag
# airflow dag
dag = single_task_dag(__file__, source="../../sources/{dag_id}/{dag_id}.py", dag_id="{dag_id}", task_id="{task_id}")
'''



def write_dag(root: Path, dag_id: str, body: str, task_ids: Iterable[str]) -> dict[str, Path]:
    """Write sources/<dag_id>/<dag_id>.py (header + body) and one 3-line task file per task id."""
    source = root / "sources" / dag_id / f"{dag_id}.py"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(DAG_HEADER + textwrap.dedent(body))
    files = {}
    for task_id in task_ids:
        path = root / "dags" / dag_id / f"{task_id}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TASK_FILE.format(dag_id=dag_id, task_id=task_id))
        files[task_id] = path
    return files


@dataclass
class TaskRun:
    """A finished `bridge-task run` process and its output files."""

    returncode: int
    stdout: str
    stderr: str
    outputs: Path

    @property
    def log(self) -> str:
        """stdout and stderr together (Airflow logs to both, depending on the line)."""
        return self.stdout + self.stderr

    @property
    def state(self) -> str:
        """Content of outputs/state."""
        return (self.outputs / "state").read_text().strip()

    @property
    def branch(self) -> list[str] | None:
        """Content of outputs/branch, decoded: `null` -> None, `,a,b,` -> ["a", "b"], `,` -> []."""
        text = (self.outputs / "branch").read_text().strip()
        if text == "null":
            return None
        assert text.startswith(",") and text.endswith(","), text
        return [part for part in text.split(",") if part]

    @property
    def xcom(self) -> dict[tuple[str, str], object]:
        """(task_id, key) -> decoded value of every row in outputs/xcom.json."""
        doc = json.loads((self.outputs / "xcom.json").read_text())
        return {(r["task_id"], r["key"]): json.loads(r["value"]) for r in doc["rows"]}


def task_command(task_file: Path, *args: str) -> list[str]:
    """The command line of `bridge-task run` with this interpreter."""
    return [sys.executable, "-m", "bridge.runtime", "run", str(task_file), *args]


@pytest.fixture(scope="session")
def db_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One pre-migrated database for the whole session, made by `bridge-task prepare`."""
    folder = tmp_path_factory.mktemp("template")
    env = dict(os.environ, BRIDGE_STATE_DIR=str(folder / "state"))
    done = subprocess.run(
        [sys.executable, "-m", "bridge.runtime", "prepare", "--dir", str(folder)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def run_task(db_template: str, tmp_path: Path) -> Callable[..., TaskRun]:
    """Run `bridge-task run TASK_FILE ARGS...` in a fresh process; returns a TaskRun."""
    counter = iter(range(1000))

    def _run(task_file: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 180) -> TaskRun:
        outputs = tmp_path / f"out-{task_file.stem}-{next(counter)}"
        full_env = {**os.environ, "BRIDGE_DB_TEMPLATE": db_template, **(env or {})}
        done = subprocess.run(
            task_command(task_file, "--outputs", str(outputs), *args),
            capture_output=True, text=True, env=full_env, timeout=timeout, check=False,
        )
        return TaskRun(done.returncode, done.stdout, done.stderr, outputs)

    return _run
