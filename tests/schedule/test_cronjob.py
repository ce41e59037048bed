"""The schedule manifests `bridge split` writes: valid for Kubernetes and Argo, least privilege."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT, airflow_major, run_cli, split, validate_argo

DAG_FILE = Path(__file__).parent / "data" / "schedules.py"
KUBERNETES = "1.33.0"  # a current release; CronJob timeZone is GA since 1.27


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def validate_kubernetes(document: dict) -> None:
    import kubernetes_validate

    kubernetes_validate.validate(document, KUBERNETES, strict=True)


def test_cronjob_manifest_is_valid(tmp_path: Path) -> None:
    out = split(ROOT / "examples" / "etl" / "etl.py", tmp_path / "out")
    docs = documents(out / "cronjobs" / "etl.yaml")
    assert [d["kind"] for d in docs] == ["ConfigMap", "ServiceAccount", "Role", "RoleBinding", "CronJob"]
    for doc in docs:
        validate_kubernetes(doc)
    workflow = yaml.safe_load(docs[0]["data"]["workflow.yaml"])
    validate_argo(workflow)
    assert docs[0]["data"]["workflow.yaml"] == (out / "workflows" / "etl.yaml").read_text()
    cron = docs[-1]["spec"]
    assert (cron["schedule"], cron["timeZone"]) == ("0 0 * * *", "UTC")
    assert cron["startingDeadlineSeconds"] > 0
    container = cron["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["bridge"] and container["args"][0] == "submit" and "--from-cronjob" in container["args"]


def test_role_allows_only_submission(tmp_path: Path) -> None:
    out = split(ROOT / "examples" / "etl" / "etl.py", tmp_path / "out")
    role = next(d for d in documents(out / "cronjobs" / "etl.yaml") if d["kind"] == "Role")
    granted = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    # list: the DAG's latest scheduled run decides what a fire after missed ones starts (catchup).
    # cronjobs get: when it last succeeded (Workflows a TTL deleted are not started again).
    assert granted == {("argoproj.io", "workflows", v) for v in ("create", "get", "list")} | {("batch", r, "get") for r in ("jobs", "cronjobs")}


@pytest.mark.parametrize("dag_id,policy", [("serial", "Forbid"), ("daily", "Allow")])
def test_concurrency_policy_and_names(tmp_path: Path, dag_id: str, policy: str) -> None:
    out = split(DAG_FILE, tmp_path / "out", "--dag-id", dag_id, "--namespace", "etl")
    (path,) = (out / "cronjobs").glob("*.yaml")
    docs = documents(path)
    for doc in docs:
        validate_kubernetes(doc)
        assert doc["metadata"]["namespace"] == "etl"
        assert len(doc["metadata"]["name"]) <= 63
    assert docs[-1]["spec"]["concurrencyPolicy"] == policy
    assert len(docs[-1]["metadata"]["name"]) <= 52


def test_paris_schedule_keeps_its_timezone(tmp_path: Path) -> None:
    out = split(DAG_FILE, tmp_path / "out", "--dag-id", "paris_weekdays")
    cron = documents(out / "cronjobs" / "paris-weekdays.yaml")[-1]["spec"]
    assert (cron["schedule"], cron["timeZone"]) == ("0 9 * * 1-5", "Europe/Paris")


def test_interval_schedule_gets_a_polled_cronjob_and_a_message(tmp_path: Path) -> None:
    result = run_cli("split", str(DAG_FILE), "--dag-id", "every_six_hours", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "time interval" in result.output and "its CronJob fires at '0 0,6,12,18 * * *'" in result.output
    cronjob = yaml.safe_load_all((tmp_path / "out" / "cronjobs" / "every-six-hours.yaml").read_text())
    (job,) = [doc for doc in cronjob if doc["kind"] == "CronJob"]
    assert (job["spec"]["schedule"], job["spec"]["timeZone"]) == ("0 0,6,12,18 * * *", "UTC")


def test_long_dag_id_is_cut_to_52() -> None:
    from bridge.emit.cronjob import cron_name
    from bridge.model import Plan, SourceDag

    plan = Plan(dag=SourceDag(dag_id="x" * 80, source_path="/d.py", tasks=()), workflow_name="x", source_file="s", tasks=(), templates=())
    assert len(cron_name(plan)) == 52


def test_cronworkflow_is_valid_argo(tmp_path: Path) -> None:
    out = split(ROOT / "examples" / "etl" / "etl.py", tmp_path / "out", "--schedule", "cronworkflow")
    assert not (out / "cronjobs").exists()
    (doc,) = documents(out / "cronworkflows" / "etl.yaml")
    validate_argo(doc)
    spec = doc["spec"]
    assert spec["schedules"] == ["0 0 * * *"] and spec["timezone"] == "UTC"
    templates = {t["name"]: t for t in spec["workflowSpec"]["templates"]}
    step = templates["bridge-logical-date"]["container"]["args"]
    assert step[0] == "logical-date" and "{{workflow.scheduledTime}}" in step
    text = yaml.safe_dump(spec["workflowSpec"]["templates"])
    assert "workflow.parameters.run-date" not in text and "workflow.outputs.parameters.run-date" in text


def test_logical_date_command_writes_outputs(tmp_path: Path) -> None:
    out = split(ROOT / "examples" / "etl" / "etl.py", tmp_path / "out", "--schedule", "cronworkflow")
    (doc,) = documents(out / "cronworkflows" / "etl.yaml")
    spec_json = doc["metadata"]["annotations"]["bridge.dev/timetable"]
    result = run_cli("logical-date", "--timetable", spec_json, "--scheduled-time", "2024-01-02T00:00:00Z", "--outputs", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    expected = "2024-01-01T00:00:00+00:00" if airflow_major() == 2 else "2024-01-02T00:00:00+00:00"
    assert result.output.strip() == expected
    assert (tmp_path / "o" / "run-date").read_text() == expected
    assert (tmp_path / "o" / "run-id").read_text() == f"scheduled__{expected}"


def test_timetable_annotation_is_one_format_on_every_kind(tmp_path: Path) -> None:
    """The Workflow, the CronJob and the CronWorkflow carry the same JSON, which bridge logical-date reads."""
    etl = ROOT / "examples" / "etl" / "etl.py"
    cronjob_out = split(etl, tmp_path / "cronjob")
    workflow = yaml.safe_load((cronjob_out / "workflows" / "etl.yaml").read_text())
    cronjob = documents(cronjob_out / "cronjobs" / "etl.yaml")[-1]
    (cronworkflow,) = documents(split(etl, tmp_path / "cronworkflow", "--schedule", "cronworkflow") / "cronworkflows" / "etl.yaml")
    annotations = [doc["metadata"]["annotations"]["bridge.dev/timetable"] for doc in (workflow, cronjob, cronworkflow)]
    assert annotations[0] == annotations[1] == annotations[2]
    result = run_cli("logical-date", "--timetable", annotations[1], "--scheduled-time", "2024-01-02T00:00:00Z")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("2024-01-01T00:00:00+00:00" if airflow_major() == 2 else "2024-01-02T00:00:00+00:00")


BIG_PARAM_DAG = '''
import pendulum
from airflow import DAG
try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.empty import EmptyOperator
with DAG("big_param", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule="@daily", params={"rows": "x\\n" * LINES}):
    EmptyOperator(task_id="noop")
'''


def _big_param_dag(tmp_path: Path, lines: int) -> Path:
    """A DAG whose param default is many short lines: YAML indents each, so the ConfigMap is ~3x its JSON."""
    path = tmp_path / "big_param.py"
    path.write_text(BIG_PARAM_DAG.replace("LINES", str(lines)))
    return path


def test_cronjob_whose_workflow_configmap_is_over_1_mib_is_refused(tmp_path: Path) -> None:
    from bridge.lint.rules import stored_size

    dag_file = _big_param_dag(tmp_path, 120_000)
    result = run_cli("split", str(dag_file), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith(f"bridge: error: {dag_file}: DAG 'big_param' (1 tasks) gives cronjobs/big-param.yaml: document 1: data: holds ")
    assert "over Kubernetes' 1 MiB limit for a ConfigMap" in line and "--schedule cronworkflow" in line
    assert not (tmp_path / "out").exists()
    # The Workflow itself fits Argo's 1 MiB as Argo measures it: only the ConfigMap's YAML is too large.
    out = split(dag_file, tmp_path / "cw", "--schedule", "cronworkflow")
    assert stored_size(yaml.safe_load((out / "workflows" / "big-param.yaml").read_text())) < 1024 * 1024


def test_cronjob_over_kubectls_annotation_limit_says_to_apply_server_side(tmp_path: Path) -> None:
    result = run_cli("split", str(_big_param_dag(tmp_path, 30_000)), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "kubectl apply --server-side -f" in result.output and "last-applied-configuration" in result.output
    header = (tmp_path / "out" / "cronjobs" / "big-param.yaml").read_text().splitlines()[1]
    assert header.startswith("# kubectl apply --server-side -f cronjobs/big-param.yaml")
