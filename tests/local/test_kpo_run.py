"""`bridge run` runs a native KubernetesPodOperator pod's command on this machine (the host engine),
between Airflow tasks, with the trigger rules Airflow would apply to its outcome (docs/SEMANTICS.md,
"KubernetesPodOperator"): exit 0 is success, exit 3 fails the task, its `one_failed` downstream
runs, its `all_success` downstream is upstream_failed, and the DagRun succeeds as Airflow's would
(its leaves `after` and `alert` succeeded; `never` is upstream_failed, so it fails the run)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import DATA, run_cli

pytest.importorskip("airflow.providers.cncf.kubernetes")


def test_native_pods_run_between_airflow_tasks(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = run_cli("run", str(DATA / "kpo" / "host_pods.py"), "--run-date", "2024-01-01", "--report", str(report))
    found = json.loads(report.read_text())
    assert found["tasks"] == {
        "before": "success",
        "ok": "success",
        "after": "success",
        "bad": "failed",
        "alert": "success",
        "never": "upstream_failed",
    }, result.output
    # `never` is a leaf that did not succeed: the DagRun fails, as Airflow's would.
    assert result.exit_code != 0 and found["state"] == "failed", result.output
    # The pod's own command ran (its env from env_vars), not bridge-task.
    logs = Path(re.search(r"logs in (\S+)", result.output).group(1).rstrip(";"))
    assert "native pod ran" in (logs / "ok.log").read_text()
