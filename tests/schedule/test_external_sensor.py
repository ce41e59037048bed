"""ExternalTaskSensor on Argo (docs/SCHEDULES.md, "Dependencies between DAGs"): Airflow's own
sensor runs in its pod (bridge-task, real Airflow), and its view of the other DAG comes from that
DAG's Workflows, read through the real kubernetes client from an in-process API server that
holds them (tests/schedule/test_submit.py's FakeKube: not a real cluster). The other DAG's task
succeeding, failing, being skipped, or never running makes the sensor pass, fail, skip, or time
out, as Airflow's sensor does on the same states in its database."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bridge.runtime.external import WorkflowRuns
from tests.helpers import DATA, split
from tests.schedule.test_submit import FakeKube, kube  # noqa: F401 (the fixture)

WAITS = DATA / "cross" / "waits.py"


def upstream_run(logical_date: str, phase: str, tasks: dict[str, str]) -> dict[str, Any]:
    """A Workflow of `upstream_etl` as Argo leaves it: its nodes' phases (a skipped-inside task: `s`)."""
    name = "upstream-etl-" + logical_date.replace("-", "").replace(":", "").replace("T", "")[:14].ljust(14, "0")
    nodes = {}
    for task, state in tasks.items():
        node: dict[str, Any] = {"name": f"{name}.{task}", "displayName": task, "phase": state}
        if state == "Succeeded-skipped":
            node["phase"] = "Succeeded"
            node["outputs"] = {"parameters": [{"name": "s", "value": "skipped"}]}
        nodes[f"{name}-{len(nodes)}"] = node
    return {
        "metadata": {"name": name, "labels": {"bridge.dev/dag": "upstream-etl"},
                     "annotations": {"bridge.dev/logical-date": logical_date}, "creationTimestamp": "2024-01-02T00:00:00Z"},
        "spec": {"arguments": {"parameters": [{"name": "run-date", "value": logical_date}]}},
        "status": {"phase": phase, "nodes": nodes},
    }


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return split(WAITS, tmp_path_factory.mktemp("waits") / "out")


def sense(out: Path, task: str, tmp_path: Path) -> tuple[str, float, str]:
    """Run the sensor's pod (bridge-task) for 2024-01-02: its state, how long it took, its log."""
    outputs = tmp_path / task
    bridge_task = str(Path(sys.executable).with_name("bridge-task"))
    start = time.monotonic()
    done = subprocess.run([bridge_task, "run", str(out / "dags" / "reports" / f"{task.replace('_', '-')}.py"), "--run-date",
                           "2024-01-02", "--outputs", str(outputs)], capture_output=True, text=True, timeout=300, check=False)
    took = time.monotonic() - start
    return (outputs / "state").read_text().strip(), took, done.stdout + done.stderr


def test_the_other_dags_task_decides_the_sensor(kube: FakeKube, out: Path, tmp_path: Path) -> None:  # noqa: F811
    kube.workflows["a"] = upstream_run("2024-01-02T00:00:00+00:00", "Running", {"load": "Succeeded", "optional": "Succeeded-skipped"})
    state, _, log = sense(out, "wait_load", tmp_path)
    assert state == "success", log
    state, _, log = sense(out, "wait_optional", tmp_path)
    assert state == "skipped", log
    kube.workflows["a"] = upstream_run("2024-01-02T00:00:00+00:00", "Failed", {"load": "Failed"})
    state, took, log = sense(out, "wait_load", tmp_path)
    assert state == "failed" and "Some of the external tasks ['load'] in DAG upstream_etl failed" in log, log
    assert ("GET", "/apis/argoproj.io/v1alpha1/namespaces/team/workflows?labelSelector=bridge.dev%2Fdag%3Dupstream-etl") in kube.requests


def test_no_run_of_the_other_dag_times_the_sensor_out(kube: FakeKube, out: Path, tmp_path: Path) -> None:  # noqa: F811
    kube.workflows["other-day"] = upstream_run("2024-01-01T00:00:00+00:00", "Succeeded", {"load": "Succeeded"})
    state, took, log = sense(out, "wait_load", tmp_path)
    assert state == "failed" and "timed out" in log.lower(), log
    assert took >= 3  # its timeout, poking every second
    state, took, log = sense(out, "wait_run", tmp_path)  # reschedule mode: the same, between pokes no slot held
    assert state == "failed" and "timed out" in log.lower() and took >= 3, log


def test_execution_delta_waits_on_the_run_an_hour_earlier(kube: FakeKube, out: Path, tmp_path: Path) -> None:  # noqa: F811
    kube.workflows["hour-before"] = upstream_run("2024-01-01T23:00:00+00:00", "Succeeded", {"load": "Succeeded"})
    state, _, log = sense(out, "wait_run", tmp_path)
    assert state == "success", log


def test_runs_are_read_from_compressed_nodes_and_the_newest_per_date() -> None:
    import base64
    import gzip

    old = upstream_run("2024-01-02T00:00:00+00:00", "Failed", {"load": "Failed"})
    new = upstream_run("2024-01-02T00:00:00+00:00", "Succeeded", {"load": "Succeeded"})
    new["metadata"]["creationTimestamp"] = "2024-01-03T00:00:00Z"
    new["status"]["compressedNodes"] = base64.b64encode(gzip.compress(json.dumps(new["status"].pop("nodes")).encode())).decode()
    runs = WorkflowRuns(lambda selector: [old, new] if selector == "bridge.dev/dag=upstream-etl" else [])
    import datetime as dt

    day = [dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)]
    assert runs.ti_count("upstream_etl", ["load"], day, ["success"]) == 1
    assert runs.dr_count("upstream_etl", day, ["success"]) == 1 and runs.dr_count("upstream_etl", day, ["failed"]) == 0
    assert not runs.exists("elsewhere")


def test_split_names_the_permission_and_refuses_a_task_group(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    result = run_cli("split", str(WAITS), "-o", str(tmp_path / "out"))
    assert "'wait_load', 'wait_optional', 'wait_run' wait on other DAGs' runs, read from their Workflows: the " \
           "ServiceAccount of the Workflow's pods needs workflows.argoproj.io: get, list" in result.output, result.output
    grouped = tmp_path / "grouped.py"
    grouped.write_text(WAITS.read_text().split("with DAG(")[0] + (
        'with DAG("grouped", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):\n'
        '    ExternalTaskSensor(task_id="wait_group", external_dag_id="upstream_etl", external_task_group_id="loads")\n'))
    refused = run_cli("split", str(grouped), "-o", str(tmp_path / "g"))
    assert refused.exit_code == 1 and f"{grouped}" in refused.output and "task group 'loads'" in refused.output, refused.output
    assert not (tmp_path / "g").exists()


def test_a_service_account_without_the_permission_fails_the_sensor_saying_so(kube: FakeKube, out: Path, tmp_path: Path) -> None:  # noqa: F811
    kube.forbid_list = True
    state, _, log = sense(out, "wait_load", tmp_path)
    assert state == "failed" and "403 Forbidden" in log and "needs get, list on workflows.argoproj.io" in log, log
