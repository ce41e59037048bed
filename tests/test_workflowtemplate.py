"""`bridge split --emit workflowtemplate`: a WorkflowTemplate per DAG, and schedules that reference it.

Every emitted Argo document is checked against Argo's schema and CRDs (v4.1.2, vendored), linted,
and the template runs through the local engine the way Argo resolves a workflowTemplateRef
(workflow/util/merge.go, JoinWorkflowSpec: the Workflow's fields over the template's, arguments
merged by name with the Workflow's value first) from both of its entrypoints.
"""

from __future__ import annotations

import copy
import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.lint import lint_paths, lint_text
from tests.helpers import ROOT, airflow_major, read_tree, run_cli, split, validate_argo

ETL = ROOT / "examples" / "etl" / "etl.py"
needs_airflow = pytest.mark.skipif(importlib.util.find_spec("airflow") is None, reason="needs Apache Airflow")


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _configmap_workflow(cronjob: Path) -> dict[str, Any]:
    """The Workflow the CronJob's ConfigMap holds (what `bridge submit --from-cronjob` reads)."""
    (configmap,) = [d for d in _documents(cronjob) if d["kind"] == "ConfigMap" and "workflow.yaml" in d.get("data", {})]
    return yaml.safe_load(configmap["data"]["workflow.yaml"])


def resolve(workflow: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    """The Workflow Argo executes for a workflowTemplateRef (JoinWorkflowSpec, for the fields bridge uses)."""
    assert workflow["spec"]["workflowTemplateRef"] == {"name": template["metadata"]["name"]}
    spec = copy.deepcopy(template["spec"])
    own = {k: v for k, v in workflow["spec"].items() if k != "workflowTemplateRef"}
    given = {p["name"]: p for p in own.pop("arguments", {}).get("parameters", [])}
    merged = []
    for parameter in spec.get("arguments", {}).get("parameters", []):
        merged.append({**parameter, **given.pop(parameter["name"], {})})
    spec["arguments"] = {"parameters": merged + list(given.values())}
    spec.update(own)
    metadata = copy.deepcopy(workflow["metadata"])
    metadata.setdefault("labels", {}).update((spec.get("workflowMetadata") or {}).get("labels") or {})
    return {"apiVersion": workflow["apiVersion"], "kind": "Workflow", "metadata": metadata, "spec": spec}


@needs_airflow
def test_the_workflow_stays_and_the_cronjob_references_the_template(tmp_path: Path) -> None:
    plain = read_tree(split(ETL, tmp_path / "plain"))
    out = split(ETL, tmp_path / "wft", "--emit", "workflowtemplate")
    emitted = read_tree(out)
    # workflows/ is the same Workflow as without the flag (bridge run and bridge submit read it).
    assert emitted["workflows/etl.yaml"] == plain["workflows/etl.yaml"]
    assert set(emitted) - set(plain) == {"workflowtemplates/etl.yaml"}
    (template,) = _documents(out / "workflowtemplates" / "etl.yaml")
    workflow = yaml.safe_load(plain["workflows/etl.yaml"])
    assert template["kind"] == "WorkflowTemplate" and template["metadata"]["name"] == "etl"
    assert template["metadata"]["annotations"] == workflow["metadata"]["annotations"]
    assert template["metadata"]["labels"] == workflow["metadata"]["labels"]
    assert template["spec"]["arguments"] == workflow["spec"]["arguments"]
    for key in ("parallelism", "securityContext", "volumes"):
        assert template["spec"][key] == workflow["spec"][key]
    assert template["spec"]["workflowMetadata"] == {"labels": {"bridge.dev/dag": "etl"}}
    assert template["spec"]["entrypoint"] == "bridge-run"
    reference = _configmap_workflow(out / "cronjobs" / "etl.yaml")
    assert reference["spec"] == {
        "workflowTemplateRef": {"name": "etl"},
        "arguments": {"parameters": [{"name": "run-date"}, {"name": "run-id", "value": ""}]},
    }
    assert reference["metadata"]["annotations"] == workflow["metadata"]["annotations"]
    for document in (template, reference, workflow):
        validate_argo(document)
    assert lint_paths([str(out)]).findings == []
    assert lint_text("ref.yaml", yaml.safe_dump(reference)) == []


@needs_airflow
def test_the_cronworkflow_references_the_scheduled_entrypoint(tmp_path: Path) -> None:
    out = split(ETL, tmp_path / "out", "--emit", "workflowtemplate", "--schedule", "cronworkflow")
    (cron,) = _documents(out / "cronworkflows" / "etl.yaml")
    (template,) = _documents(out / "workflowtemplates" / "etl.yaml")
    workflow_spec = cron["spec"]["workflowSpec"]
    assert workflow_spec["workflowTemplateRef"] == {"name": "etl"}
    assert workflow_spec["entrypoint"] == "bridge-scheduled"
    assert "templates" not in workflow_spec
    names = [t["name"] for t in template["spec"]["templates"]]
    assert names[:4] == ["bridge-run", "bridge-scheduled", "bridge-logical-date", "main"]
    validate_argo(cron)
    validate_argo(template)
    assert lint_paths([str(out)]).findings == []


@needs_airflow
def test_the_run_lock_stays_the_workflows(tmp_path: Path) -> None:
    from tests.helpers import DATA

    out = split(DATA / "dags" / "serial_dag.py", tmp_path / "out", "--emit", "workflowtemplate")
    (path,) = sorted((out / "workflowtemplates").glob("*.yaml"))
    (template,) = _documents(path)
    (workflow_path,) = sorted((out / "workflows").glob("*.yaml"))
    workflow = yaml.safe_load(workflow_path.read_text())
    assert template["spec"]["synchronization"] == workflow["spec"]["synchronization"]
    assert all("synchronization" not in t for t in template["spec"]["templates"] if "dag" in t)
    validate_argo(template)


@needs_airflow
def test_submit_dry_run_of_the_referencing_workflow(tmp_path: Path) -> None:
    out = split(ETL, tmp_path / "out", "--emit", "workflowtemplate")
    reference = tmp_path / "reference.yaml"
    reference.write_text(yaml.safe_dump(_configmap_workflow(out / "cronjobs" / "etl.yaml")))
    result = run_cli("submit", str(reference), "--run-date", "2024-01-01", "--dry-run")
    assert result.exit_code == 0, result.output
    body = yaml.safe_load(result.output)
    assert body["metadata"]["name"] == "etl-20240101000000"
    assert body["spec"]["workflowTemplateRef"] == {"name": "etl"}
    assert "templates" not in body["spec"]
    assert body["spec"]["arguments"]["parameters"] == [
        {"name": "run-date", "value": "2024-01-01T00:00:00+00:00"},
        {"name": "run-id", "value": "manual__2024-01-01T00:00:00+00:00"},
    ]
    validate_argo(body)
    scheduled = run_cli("submit", str(reference), "--scheduled-time", "2024-01-03T00:00:00Z", "--dry-run")
    assert scheduled.exit_code == 0, scheduled.output
    params = {p["name"]: p["value"] for p in yaml.safe_load(scheduled.output)["spec"]["arguments"]["parameters"]}
    ds = "2024-01-03" if airflow_major() >= 3 else "2024-01-02"  # Airflow's own timetable dates the run
    assert params["run-date"].startswith(ds) and params["run-id"].startswith("scheduled__")


@needs_airflow
def test_backfill_honours_emit() -> None:
    result = run_cli("backfill", str(ETL), "--start", "2024-01-01", "--end", "2024-01-02", "--emit", "workflowtemplate")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("argo ")]
    assert lines and all(line.startswith("argo submit --from workflowtemplate/etl --name etl-2024010") for line in lines)


def test_lint_refuses_templates_beside_a_reference() -> None:
    document = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "x-"},
        "spec": {"workflowTemplateRef": {"name": "x"}, "templates": [{"name": "main", "suspend": {}}]},
    }
    findings = lint_text("x.yaml", yaml.safe_dump(document))
    assert [f.rule for f in findings] == ["argo-template-ref"]


# ------------------------------------------------------------------ the template runs, from both entrypoints

KINDS_DAG = '''
import pendulum
from airflow import DAG
try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:
    from airflow.operators.bash import BashOperator
with DAG("kinds", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule="@daily", catchup=False,
         max_active_runs=1, params={"who": "argo"}):
    first = BashOperator(task_id="first", bash_command='echo "first {{ ds }} {{ run_id }} {{ params.who }}" >> "$BRIDGE_TEST_KINDS_OUT"')
    second = BashOperator(task_id="second", bash_command='echo "second {{ ds }} {{ run_id }}" >> "$BRIDGE_TEST_KINDS_OUT"')
    first >> second
'''


@pytest.fixture
def kinds(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The split folder (with a CronWorkflow referencing the template) and the environment pods get."""
    from bridge.run import ensure_db_template

    env = {**os.environ, "BRIDGE_TEST_KINDS_OUT": str(tmp_path / "record.txt")}
    ensure_db_template()
    dag_file = tmp_path / "kinds.py"
    dag_file.write_text(KINDS_DAG)
    return split(dag_file, tmp_path / "split", "--emit", "workflowtemplate", "--schedule", "cronworkflow"), env


@needs_airflow
def test_the_template_runs_as_argo_submit_from_creates_it(kinds: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    from bridge.local import run_workflow

    split_dir, env = kinds
    (template,) = _documents(split_dir / "workflowtemplates" / "kinds.yaml")
    # argo submit --from workflowtemplate/kinds -p run-date=2024-01-05 -p who=cli (convert.go, NewWorkflowFromWorkflowTemplate)
    submitted = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "kinds-", "labels": {"workflows.argoproj.io/workflow-template": "kinds"}},
        "spec": {
            "workflowTemplateRef": {"name": "kinds"},
            "arguments": {"parameters": [{"name": "run-date", "value": "2024-01-05"}, {"name": "who", "value": "cli"}]},
        },
    }
    workflow = resolve(submitted, template)
    validate_argo(workflow)
    assert workflow["metadata"]["labels"]["bridge.dev/dag"] == "kinds"
    outcome = run_workflow(workflow, split_dir=str(split_dir), log_dir=str(tmp_path / "logs"), retry_delay_scale=0.0, env=env)
    assert outcome.phase == "Succeeded", outcome.message
    lines = Path(env["BRIDGE_TEST_KINDS_OUT"]).read_text().splitlines()
    assert lines == ["first 2024-01-05 manual__2024-01-05T00:00:00+00:00 cli", "second 2024-01-05 manual__2024-01-05T00:00:00+00:00"]


@needs_airflow
def test_the_cronworkflow_runs_the_template_with_airflows_date(kinds: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    from bridge.local import run_workflow

    split_dir, env = kinds
    (template,) = _documents(split_dir / "workflowtemplates" / "kinds.yaml")
    (cron,) = _documents(split_dir / "cronworkflows" / "kinds.yaml")
    # What the cron controller creates (convert.go, ConvertCronWorkflowToWorkflowWithProperties), then resolved.
    created = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "generateName": "kinds-",
            "labels": dict(cron["spec"]["workflowMetadata"]["labels"]),
            "annotations": {"workflows.argoproj.io/scheduled-time": "2024-01-03T00:00:00Z"},
        },
        "spec": cron["spec"]["workflowSpec"],
    }
    workflow = resolve(created, template)
    validate_argo(workflow)
    outcome = run_workflow(workflow, split_dir=str(split_dir), log_dir=str(tmp_path / "logs"), retry_delay_scale=0.0, env=env)
    assert outcome.phase == "Succeeded", outcome.message
    ds = "2024-01-03" if airflow_major() >= 3 else "2024-01-02"
    lines = Path(env["BRIDGE_TEST_KINDS_OUT"]).read_text().splitlines()
    assert [line.split(" ")[:2] for line in lines] == [["first", ds], ["second", ds]]
    assert all(line.split(" ")[2].startswith("scheduled__") for line in lines)
    assert lines[0].endswith(" argo")  # the DAG param's default, from the template's arguments
