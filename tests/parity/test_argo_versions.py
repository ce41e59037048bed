"""Parity on older Argo releases: `bridge run --argo-version V` reproduces what V makes of a skipped
or omitted task's outputs (bridge/argo/versions.py, docs/COMPATIBILITY.md), and the task states
stay Airflow's. 3.6 leaves the tag's text in place (so do 3.7.0-3.7.10 and 4.0.0-4.0.1), 3.7.13
and 4.0.4 resolve it to an empty string (3.7.13-3.7.15, 4.0.4-4.0.6); 4.1 (the declared default)
is tests/parity/test_parity.py. The four releases that requeue forever end the run with an error
naming the release.

Argo's behaviour does not depend on the Airflow line, so this runs on Airflow 3 only (the full
suite's other line); each DAG's `airflow dags test` reference is the one test_parity.py computed
(the session-wide `corpus_reference` fixture, tests/parity/conftest.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.helpers import DATA, airflow_major
from tests.parity.test_parity import CORPUS, RUN_DATE, _compare

pytestmark = pytest.mark.skipif(airflow_major() != 3, reason="Argo's behaviour is the same on every Airflow line: run on Airflow 3")

# Every DAG of the corpus on one release of each behaviour, and on 4.0.4 (the empty-string
# behaviour of 3.7.13, on the other maintained line).
CASES = [(path, version) for version in ("3.6", "3.7.13", "4.0.4") for path in CORPUS]


@pytest.mark.parametrize("dag_file, version", CASES, ids=[f"{p.stem}-{v}" for p, v in CASES])
def test_corpus_states_on_older_argo(
    dag_file: Path, version: str, tmp_path: Path, corpus_reference: Callable[[Path], dict[str, Any]]
) -> None:
    _compare(dag_file, dag_file.stem, tmp_path, "--argo-version", version, reference=corpus_reference(dag_file))


@pytest.mark.parametrize("version", ["3.7.11", "4.0.3"])
def test_hanging_release_is_an_error_naming_it(version: str) -> None:
    bridge = str(Path(sys.executable).with_name("bridge"))
    done = subprocess.run(
        [bridge, "run", str(DATA / "parity" / "parity_branch.py"), "--run-date", RUN_DATE, "--retry-delay-scale", "0",
         "--argo-version", version],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 1
    assert f"warning: Argo Workflows {version} never starts a task that reads the outputs of a skipped" in done.stderr
    # The first task after the branch's skipped side cannot resolve its upstream's state.
    assert f"failed to resolve {{{{tasks.right.outputs.parameters.s}}}} (Argo {version} would wait for this value forever)" in done.stderr
