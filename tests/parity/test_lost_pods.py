"""A lost pod (deleted, evicted, its Kubernetes node gone) leaves a Failed/Error node with no outputs
at all. Every task that can run after a failure reads that node (its trigger rule's `when`, its XCom
input) through a guarded reference (bridge.semantics.guarded_ref), which resolves on every Argo
release; a plain `{{tasks.U.outputs.parameters.P}}` would make Argo 3.7.11+, 4.0.2+ and 4.1 requeue
the task forever (docs/COMPATIBILITY.md, "A lost pod"). `bridge run --lose-pod` loses every pod
of a task; the states must be Airflow's when those tasks fail.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DATA, airflow_major
from tests.parity.test_parity import _compare, airflow_dags_test

DAG_FILE = DATA / "parity" / "lost_pods.py"
LOSE = ("--lose-pod", "lost", "--lose-pod", "lost_setup", "--lose-pod", "lost_branch")
# The default (4.1) on both lines; one release of each older behaviour on Airflow 3 only (Argo's
# behaviour does not depend on the Airflow line).
VERSIONS = ["4.1"] + (["3.6", "3.7.13", "4.0.4", "3.7.11"] if airflow_major() == 3 else [])


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return airflow_dags_test(DAG_FILE, DAG_FILE.stem, tmp_path_factory.mktemp("reference"))


@pytest.mark.parametrize("version", VERSIONS)
def test_lost_pods_end_every_task_as_a_failure_does_in_airflow(version: str, tmp_path: Path, reference: dict[str, Any]) -> None:
    _compare(DAG_FILE, DAG_FILE.stem, tmp_path, *LOSE, "--argo-version", version, reference=reference)


def test_losing_a_task_the_dag_lacks_is_an_error_before_any_pod() -> None:
    bridge = str(Path(sys.executable).with_name("bridge"))
    done = subprocess.run(
        [bridge, "run", str(DAG_FILE), "--run-date", "2024-01-02", "--lose-pod", "lost", "--lose-pod", "nosuch"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "--lose-pod: no task 'nosuch' in the DAG" in done.stderr
    assert "started" not in done.stderr
