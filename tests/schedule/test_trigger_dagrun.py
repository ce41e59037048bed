"""TriggerDagRunOperator on Argo (docs/SCHEDULES.md, "Dependencies between DAGs"): Airflow's own
operator runs in its pod (bridge-task, real Airflow), and the DagRun it starts is a Workflow of the
other DAG's WorkflowTemplate (the one `bridge split --emit workflowtemplate` writes), created
through the real kubernetes client on an in-process API server (tests/schedule/test_submit.py's
FakeKube: not a real cluster, and no Argo controller: the tests set the Workflow's phase as the
controller would)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import DATA, split
from tests.schedule.test_submit import FakeKube, kube  # noqa: F401 (the fixture)

TRIGGERS = DATA / "cross" / "triggers.py"
TARGET = DATA / "cross" / "target_etl.py"
RUN = "target-etl-20240102000000"  # bridge.names.run_name("target_etl", 2024-01-02): as bridge submit names it


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return split(TRIGGERS, tmp_path_factory.mktemp("triggers") / "out")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The target DAG's WorkflowTemplate, as bridge split writes it."""
    target = split(TARGET, tmp_path_factory.mktemp("target") / "out", "--emit", "workflowtemplate")
    return dict(yaml.safe_load((target / "workflowtemplates" / "target-etl.yaml").read_text()))


def start(out: Path, task: str, tmp_path: Path) -> tuple[str, str, dict[str, Any]]:
    """Run the task's pod (bridge-task) for 2024-01-02: its state, its log, the XComs it pushed."""
    outputs = tmp_path / task
    bridge_task = str(Path(sys.executable).with_name("bridge-task"))
    done = subprocess.run([bridge_task, "run", str(out / "dags" / "launcher" / f"{task.replace('_', '-')}.py"), "--run-date",
                           "2024-01-02", "--outputs", str(outputs)], capture_output=True, text=True, timeout=300, check=False)
    pushed = json.loads((outputs / "xcom.json").read_text()) if (outputs / "xcom.json").exists() else {}
    return (outputs / "state").read_text().strip(), done.stdout + done.stderr, pushed


def parameters(workflow: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in workflow["spec"]["arguments"]["parameters"]}


def test_a_trigger_creates_one_workflow_of_the_target_with_airflows_run_id_and_conf(
        kube: FakeKube, out: Path, template: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    kube.templates["target-etl"] = template
    state, log, pushed = start(out, "start", tmp_path)
    assert state == "success", log
    assert list(kube.workflows) == [RUN]
    workflow = kube.workflows[RUN]
    assert workflow["spec"]["workflowTemplateRef"] == {"name": "target-etl"}
    # Airflow's own run id for a manual run at that logical date, the rendered conf as the DAG's params
    # (what the target's pods read back with --param: JSON, else the plain string).
    assert parameters(workflow) == {"run-date": "2024-01-02T00:00:00+00:00", "run-id": "manual__2024-01-02T00:00:00+00:00",
                                    "table": "sales_20240102", "limit": "10"}
    assert workflow["metadata"]["labels"]["bridge.dev/dag"] == "target-etl"  # what sensors and submit select on
    assert workflow["metadata"]["annotations"]["bridge.dev/logical-date"] == "2024-01-02T00:00:00+00:00"
    assert workflow["metadata"]["annotations"]["bridge.dev/triggered-by"] == "launcher.start"
    rows = {row["key"]: json.loads(row["value"]) for row in pushed["rows"]}
    assert rows["trigger_run_id"] == "manual__2024-01-02T00:00:00+00:00", pushed  # Airflow's own XCom
    # The task retried (its pod again): the run exists, Airflow's operator fails on it; nothing created twice.
    state, log, _ = start(out, "start", tmp_path / "again")
    assert state == "failed" and list(kube.workflows) == [RUN], log
    # skip_when_already_exists: skipped instead.
    state, log, _ = start(out, "start_once", tmp_path)
    assert state == "skipped" and list(kube.workflows) == [RUN], log


def test_reset_dag_run_reruns_the_existing_run_with_its_own_conf(
        kube: FakeKube, out: Path, template: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    kube.templates["target-etl"] = template
    state, log, _ = start(out, "start", tmp_path)
    assert state == "success", log
    kube.workflows[RUN]["status"] = {"phase": "Failed"}
    kube.workflows[RUN]["metadata"]["labels"]["workflows.argoproj.io/completed"] = "true"
    before = parameters(kube.workflows[RUN])
    state, log, _ = start(out, "start_again", tmp_path)
    assert state == "success", log
    assert ("DELETE", f"/apis/argoproj.io/v1alpha1/namespaces/team/workflows/{RUN}?propagationPolicy=Background") in kube.requests
    rerun = kube.workflows[RUN]
    assert "status" not in rerun and "workflows.argoproj.io/completed" not in rerun["metadata"]["labels"]
    assert parameters(rerun) == before  # Airflow's clear keeps the run's id and conf


def _finish(kube: FakeKube, phase: str) -> threading.Thread:  # noqa: F811
    """Play Argo's controller for the run the task creates: Running, then `phase` a second later."""
    def play() -> None:
        deadline = time.monotonic() + 120
        while RUN not in kube.workflows and time.monotonic() < deadline:
            time.sleep(0.1)
        kube.workflows[RUN]["status"] = {"phase": "Running"}
        time.sleep(1.5)
        kube.workflows[RUN]["status"] = {"phase": phase}

    thread = threading.Thread(target=play, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(("phase", "expected"), [("Succeeded", "success"), ("Failed", "failed")])
def test_wait_for_completion_ends_with_the_runs_state(
        kube: FakeKube, out: Path, template: dict[str, Any], tmp_path: Path, phase: str, expected: str) -> None:  # noqa: F811
    kube.templates["target-etl"] = template
    player = _finish(kube, phase)
    state, log, _ = start(out, "start_and_wait", tmp_path)
    player.join()
    assert state == expected, log
    assert parameters(kube.workflows[RUN])["run-id"] == "from_launcher_20240102"
    polls = [r for r in kube.requests if r == ("GET", f"/apis/argoproj.io/v1alpha1/namespaces/team/workflows/{RUN}")]
    assert len(polls) >= 2, kube.requests  # it polled the run until it ended
    if expected == "failed":
        assert "failed state" in log, log  # Airflow 3: "DagRun finished with failed state", 2: "target_etl failed with failed states"


def test_a_conf_key_the_target_does_not_declare_and_a_missing_template_fail_the_task_saying_so(
        kube: FakeKube, out: Path, template: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    state, log, _ = start(out, "start", tmp_path / "none")
    assert state == "failed" and "no WorkflowTemplate 'target-etl' of DAG 'target_etl'" in log and "--emit workflowtemplate" in log, log
    kube.templates["target-etl"] = template
    state, log, _ = start(out, "start_unknown", tmp_path)
    assert state == "failed" and "conf keys ['colour'] are not params of DAG 'target_etl'" in log, log
    assert not kube.workflows


def test_a_service_account_without_the_permission_fails_the_task_naming_it(kube: FakeKube, out: Path, tmp_path: Path) -> None:  # noqa: F811
    kube.forbid_get = True
    state, log, _ = start(out, "start", tmp_path)
    assert state == "failed" and "403" in log and "workflowtemplates.argoproj.io: get" in log, log


def test_split_names_the_targets_and_emits_the_role_the_pods_need(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    result = run_cli("split", str(TRIGGERS), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "start runs of 'target_etl' as Workflows of their WorkflowTemplates: split those DAGs with --emit " \
           "workflowtemplate" in result.output, result.output
    role, binding = yaml.safe_load_all((tmp_path / "out" / "rbac" / "launcher-tasks.yaml").read_text())
    # Exactly what bridge.runtime.trigger calls: get the template, create/get/delete the run's Workflow.
    assert role["rules"] == [{"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["create", "get", "delete"]},
                             {"apiGroups": ["argoproj.io"], "resources": ["workflowtemplates"], "verbs": ["get"]}]
    assert binding["roleRef"]["name"] == "launcher-tasks" and binding["subjects"] == [{"kind": "ServiceAccount", "name": "default"}]
    assert "rbac/launcher-tasks.yaml" in yaml.safe_load((tmp_path / "out" / "kustomization.yaml").read_text())["resources"]
    linted = run_cli("lint", "--strict", str(tmp_path / "out" / "rbac"))  # the Role and RoleBinding schemas
    assert linted.exit_code == 0 and "1 file, 0 errors" in linted.output, linted.output


def test_split_refuses_fail_when_dag_is_paused(tmp_path: Path) -> None:
    from bridge.version_compat import AIRFLOW_3
    from tests.helpers import run_cli

    if not AIRFLOW_3:
        pytest.skip("Airflow 2.11's operator has no fail_when_dag_is_paused")
    paused = tmp_path / "paused.py"
    paused.write_text(TRIGGERS.read_text().split("with DAG(")[0] + (
        'with DAG("paused", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):\n'
        '    TriggerDagRunOperator(task_id="go", trigger_dag_id="target_etl", fail_when_dag_is_paused=True)\n'))
    refused = run_cli("split", str(paused), "-o", str(tmp_path / "p"))
    assert refused.exit_code == 1 and str(paused) in refused.output and "fail_when_dag_is_paused" in refused.output, refused.output
    assert not (tmp_path / "p").exists()
