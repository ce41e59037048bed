"""bridge split's pod flags: envFrom, the service account, Secret volumes and the Argo UI link; SLA warnings.

Names of Kubernetes objects only, never values: the emitted fields pass Argo's schema and CRDs
(v4.1.2) and bridge lint, and the secret scan covers the flags.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT, airflow_major, load_workflow, run_cli, split, validate_argo

SECRETS_DAG = ROOT / "tests" / "data" / "pods" / "secrets_dag.py"
SLA_DAG = ROOT / "tests" / "data" / "pods" / "sla_dag.py"
ETL = ROOT / "examples" / "etl" / "etl.py"
POD_FLAGS = (
    "--env-from-configmap", "airflow-secrets-backend",
    "--env-from-secret", "vault-token",
    "--env-from-secret", "smtp.credentials",
    "--service-account", "etl-runner",
    "--secret-volume", "airflow-secrets:/var/secrets/airflow",
    "--argo-ui-url", "https://argo.example.com/ui/",
)  # fmt: skip


def _containers(document: dict) -> list[dict]:
    spec = document["spec"].get("workflowSpec", document["spec"])
    return [template["container"] for template in spec["templates"] if "container" in template]


def test_pod_flags_become_envfrom_service_account_volumes_and_link_env(tmp_path: Path) -> None:
    workflow = load_workflow(split(SECRETS_DAG, tmp_path / "out", *POD_FLAGS))
    spec = workflow["spec"]
    assert spec["serviceAccountName"] == "etl-runner"
    assert spec["volumes"] == [
        {"name": "bridge-tmp", "emptyDir": {}},
        {"name": "secret-airflow-secrets", "secret": {"secretName": "airflow-secrets"}},
    ]
    (container,) = _containers(workflow)
    # ConfigMaps, then Secrets: a Secret's key wins over a ConfigMap's (a later envFrom source wins).
    assert container["envFrom"] == [
        {"secretRef": {"name": "bridge-variables", "optional": True}},
        {"configMapRef": {"name": "airflow-secrets-backend"}},
        {"secretRef": {"name": "vault-token"}},
        {"secretRef": {"name": "smtp.credentials"}},
    ]
    assert {"name": "secret-airflow-secrets", "mountPath": "/var/secrets/airflow", "readOnly": True} in container["volumeMounts"]
    assert container["env"] == [
        {"name": "BRIDGE_ARGO_UI_URL", "value": "https://argo.example.com/ui"},
        {"name": "BRIDGE_ARGO_WORKFLOW", "value": "{{workflow.namespace}}/{{workflow.name}}"},
    ]


def test_without_pod_flags_the_workflow_is_unchanged(tmp_path: Path) -> None:
    workflow = load_workflow(split(SECRETS_DAG, tmp_path / "out"))
    assert "serviceAccountName" not in workflow["spec"]
    (container,) = _containers(workflow)
    assert container["envFrom"] == [{"secretRef": {"name": "bridge-variables", "optional": True}}]
    assert "env" not in container


@pytest.mark.parametrize("schedule", ["cronjob", "cronworkflow"])
def test_every_emitted_kind_with_pod_flags_passes_argo_schema_and_lint(tmp_path: Path, schedule: str) -> None:
    out = split(ETL, tmp_path / "out", *POD_FLAGS, "--schedule", schedule, "--emit", "workflowtemplate")
    documents = [
        document
        for path in sorted(out.glob("*/*.yaml"))
        if path.parts[-2] in ("workflows", "workflowtemplates", "cronworkflows", "cronjobs")
        for document in yaml.safe_load_all(path.read_text())
    ]
    argo = [document for document in documents if document["apiVersion"].startswith("argoproj.io/")]
    kinds = sorted({document["kind"] for document in argo})
    assert kinds == (["CronWorkflow", "Workflow", "WorkflowTemplate"] if schedule == "cronworkflow" else ["Workflow", "WorkflowTemplate"])
    for document in argo:
        validate_argo(document)
    # The whole specs hold it; a CronWorkflow or ConfigMap Workflow that references the template has none of its own.
    whole = [document for document in argo if document["kind"] == "WorkflowTemplate"] + [load_workflow(out)]
    assert [document["spec"]["serviceAccountName"] for document in whole] == ["etl-runner", "etl-runner"]
    result = run_cli("lint", "--strict", str(out))
    assert result.exit_code == 0, result.output


def test_a_secret_named_twice_at_two_paths_shares_one_volume_and_long_names_fit(tmp_path: Path) -> None:
    long_name = "a." + "b" * 70
    workflow = load_workflow(split(
        SECRETS_DAG, tmp_path / "out", "--secret-volume", "s:/var/one", "--secret-volume", "s:/var/two",
        "--secret-volume", f"{long_name}:/var/long",
    ))
    volumes = workflow["spec"]["volumes"][1:]
    assert [volume["secret"]["secretName"] for volume in volumes] == ["s", long_name]
    assert all(len(volume["name"]) <= 63 and "." not in volume["name"] for volume in volumes)
    (container,) = _containers(workflow)
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    assert mounts["/var/one"] == mounts["/var/two"] == "secret-s"
    validate_argo(workflow)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--env-from-secret", "Vault_Token"), "'Vault_Token' is not a Kubernetes Secret name"),
        (("--env-from-configmap", "-x"), "'-x' is not a Kubernetes ConfigMap name"),
        (("--service-account", "ETL"), "'ETL' is not a Kubernetes ServiceAccount name"),
        (("--secret-volume", "airflow-secrets"), "is not NAME:PATH"),
        (("--secret-volume", "s:var/secrets"), "the mount path must be an absolute folder"),
        (("--secret-volume", "s:/tmp/secrets"), "would hide or overlap /tmp"),
        (("--secret-volume", "s:/opt"), "would hide or overlap /opt/bridge"),
        (("--secret-volume", "s:/var/x", "--secret-volume", "t:/var/x/"), "two Secrets are mounted at /var/x"),
        (("--argo-ui-url", "argo.example.com"), "is not the Argo UI's address"),
        (("--argo-ui-url", "https://me:pw@argo.example.com"), "without a query or credentials"),
        (("--argo-ui-url", "https://argo.example.com/?token=1"), "without a query or credentials"),
    ],
)
def test_bad_pod_flags_are_usage_errors_and_write_nothing(tmp_path: Path, flags: tuple[str, ...], message: str) -> None:
    result = run_cli("split", str(SECRETS_DAG), "-o", str(tmp_path / "out"), *flags)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_a_secret_value_passed_as_a_name_is_refused_without_echoing_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A lower-case token is a valid object name: only the secret scan can tell it is a value.
    monkeypatch.setenv("VAULT_TOKEN", "hvs-6f1c9e2ab47d")
    result = run_cli("split", str(SECRETS_DAG), "-o", str(tmp_path / "out"), "--env-from-secret", "hvs-6f1c9e2ab47d")
    assert result.exit_code == 1, result.output
    assert "holds the value of the environment variable VAULT_TOKEN (value not shown)" in result.output
    assert "bridge split's flags" in result.output
    assert "hvs-6f1c9e2ab47d" not in result.output
    assert not (tmp_path / "out").exists()


def test_sla_and_sla_miss_callback_are_named_in_a_warning(tmp_path: Path) -> None:
    if airflow_major() != 2:
        pytest.skip("Airflow 3 removed SLAs (sla, sla_miss_callback): there is nothing to warn about")
    result = run_cli("split", str(SLA_DAG), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.output.splitlines() if "SLA" in line]
    assert line.startswith("bridge: warning: SLAs are not enforced on Argo: tasks 'extract', 'load' set `sla` and the DAG sets "
                           "sla_miss_callback;")
    assert "'report'" not in line


def test_no_sla_warning_without_slas(tmp_path: Path) -> None:
    result = run_cli("split", str(ETL), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "SLA" not in result.output
