"""Secrets and ConfigMaps under `bridge run`: envFrom, Secret volumes and secretKeyRef read stand-in folders;
a real Airflow secrets backend (LocalFilesystemBackend) reads a file "mounted from a Secret"; ti.log_url."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from bridge.local.launcher import map_path
from bridge.local.pod import pod_spec
from bridge.local.spec import WorkflowError
from tests.helpers import ROOT, run_cli

SECRETS_DAG = ROOT / "tests" / "data" / "pods" / "secrets_dag.py"
BACKEND = "airflow.secrets.local_filesystem.LocalFilesystemBackend"
MOUNT = "/var/secrets/airflow"


def stand_ins(root: Path) -> Path:
    """The Secret `airflow-secrets` (a connections and a variables file) and the ConfigMap naming the backend."""
    objects = root / "objects"
    (objects / "airflow-secrets").mkdir(parents=True)
    (objects / "airflow-secrets" / "connections.json").write_text(
        json.dumps({"warehouse": "postgres://etl:file-pass-1@warehouse.internal:5432/sales"})
    )
    (objects / "airflow-secrets" / "variables.json").write_text(json.dumps({"region": "eu-north"}))
    backend = objects / "airflow-secrets-backend"
    backend.mkdir()
    (backend / "AIRFLOW__SECRETS__BACKEND").write_text(BACKEND)
    kwargs = {"connections_file_path": f"{MOUNT}/connections.json", "variables_file_path": f"{MOUNT}/variables.json"}
    (backend / "AIRFLOW__SECRETS__BACKEND_KWARGS").write_text(json.dumps(kwargs))
    return objects


def _template(**container: object) -> dict:
    return {"name": "task", "container": {"image": "x", "command": ["bridge-task"], **container}}


def _pod(template: dict, objects: Path | None, volumes: tuple = (), local_env: dict | None = None):
    return pod_spec("load", template, 1, workflow_name="wf-abcde", namespace="data", local_env=local_env or {},
                    volumes=volumes, objects_dir=str(objects) if objects else None)


def test_envfrom_reads_stand_ins_in_order_and_env_wins(tmp_path: Path) -> None:
    objects = stand_ins(tmp_path)
    (objects / "vault").mkdir()
    (objects / "vault" / "AIRFLOW__SECRETS__BACKEND").write_text("from-the-secret")
    (objects / "vault" / "not a name").write_text("skipped, as Kubernetes skips it")
    (objects / "vault" / ".hidden").write_text("not a key")
    template = _template(
        envFrom=[
            {"secretRef": {"name": "bridge-variables", "optional": True}},  # no stand-in: nothing, as before
            {"configMapRef": {"name": "airflow-secrets-backend"}},
            {"secretRef": {"name": "vault"}},
        ],
        env=[{"name": "AIRFLOW__SECRETS__BACKEND_KWARGS", "value": "{}"}],
    )
    env = _pod(template, objects).env
    assert env["AIRFLOW__SECRETS__BACKEND"] == "from-the-secret"  # the later source wins a key
    assert env["AIRFLOW__SECRETS__BACKEND_KWARGS"] == "{}"  # env wins over envFrom
    assert "not a name" not in env and ".hidden" not in env
    assert env["ARGO_NODE_ID"] == "wf-abcde-load" and env["ARGO_WORKFLOW_NAME"] == "wf-abcde"


def test_a_missing_required_stand_in_is_an_error_that_says_where_to_put_it(tmp_path: Path) -> None:
    template = _template(envFrom=[{"secretRef": {"name": "vault"}}])
    with pytest.raises(WorkflowError, match=r"task 'load': the Secret 'vault' of envFrom does not exist here; put one file "
                                            r"per key of 'vault' in DIR/vault/ and pass bridge run --secrets-dir DIR"):
        _pod(template, None)
    volumes = ({"name": "secret-airflow-secrets", "secret": {"secretName": "airflow-secrets"}},)
    mounted = _template(volumeMounts=[{"name": "secret-airflow-secrets", "mountPath": MOUNT, "readOnly": True}])
    with pytest.raises(WorkflowError, match=rf"the Secret 'airflow-secrets' mounted at {MOUNT} does not exist here; "
                                            rf"put one file per key of 'airflow-secrets' in {tmp_path}/airflow-secrets/"):
        _pod(mounted, tmp_path, volumes)


def test_secret_volumes_mount_their_stand_in_and_secret_key_refs_read_it(tmp_path: Path) -> None:
    objects = stand_ins(tmp_path)
    volumes = (
        {"name": "bridge-tmp", "emptyDir": {}},
        {"name": "secret-airflow-secrets", "secret": {"secretName": "airflow-secrets"}},
    )
    template = _template(
        volumeMounts=[{"name": "bridge-tmp", "mountPath": "/tmp"},
                      {"name": "secret-airflow-secrets", "mountPath": MOUNT, "readOnly": True}],
        env=[{"name": "AIRFLOW_VAR_REGIONS", "valueFrom": {"secretKeyRef": {"name": "airflow-secrets", "key": "variables.json"}}},
             {"name": "AIRFLOW_CONN_OTHER", "valueFrom": {"secretKeyRef": {"name": "bridge-connections", "key": "other", "optional": True}}}],
    )
    pod = _pod(template, objects, volumes, local_env={"AIRFLOW_CONN_OTHER": "sqlite://"})
    assert pod.mounts == {MOUNT: str(objects / "airflow-secrets")}
    assert pod.env["AIRFLOW_VAR_REGIONS"] == '{"region": "eu-north"}'  # the stand-in's key
    assert pod.env["AIRFLOW_CONN_OTHER"] == "sqlite://"  # no stand-in: this machine's variable, as before


def test_secret_volume_paths_inside_json_values_are_mapped_and_quoted_scratch_paths_are_not() -> None:
    mounts = {MOUNT: "/home/dev/objects/airflow-secrets", "/tmp": "/scratch/pod"}
    value = json.dumps({"connections_file_path": f"{MOUNT}/connections.json", "db": "/tmp/shared.db", "other": "/var/x"})
    assert json.loads(map_path(value, mounts, frozenset({MOUNT}))) == {
        # A connection's sqlite file under /tmp, or a path in Python code, is the developer's, as before.
        "connections_file_path": "/home/dev/objects/airflow-secrets/connections.json", "db": "/tmp/shared.db",
        "other": "/var/x",
    }
    assert map_path(f"--path={MOUNT} --out=/tmp/out", mounts, frozenset({MOUNT})) == (
        "--path=/home/dev/objects/airflow-secrets --out=/scratch/pod/out"
    )


needs_airflow = pytest.mark.skipif(importlib.util.find_spec("airflow") is None, reason="needs Apache Airflow")

# What the Argo UI's workflow-details page reads (ui/src/workflows/components/workflow-details/workflow-details.tsx).
ARGO_LINK = (r"https://argo\.example\.com/ui/workflows/default/(secrets-[a-z0-9]{5})\?tab=workflow&nodeId=\1-read-secrets"
             r"&sidePanel=logs%3A\1-read-secrets%3Amain")


@needs_airflow
def test_a_local_filesystem_secrets_backend_in_a_mounted_secret_supplies_the_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = stand_ins(tmp_path)
    record = tmp_path / "record"
    record.mkdir()
    monkeypatch.setenv("BRIDGE_TEST_RECORD", str(record))
    for name in ("AIRFLOW_CONN_WAREHOUSE", "AIRFLOW_VAR_REGION", "AIRFLOW__SECRETS__BACKEND", "AIRFLOW__SECRETS__BACKEND_KWARGS"):
        monkeypatch.delenv(name, raising=False)
    result = run_cli(
        "run", str(SECRETS_DAG), "--run-date", "2024-01-01", "--secrets-dir", str(objects),
        "--env-from-configmap", "airflow-secrets-backend", "--secret-volume", f"airflow-secrets:{MOUNT}",
        "--argo-ui-url", "https://argo.example.com/ui",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # Only the backend's files hold these values: the connection and the Variable came from it.
    assert json.loads((record / "task.json").read_text()) == {"host": "warehouse.internal", "login": "etl", "region": "eu-north"}
    links = json.loads((record / "links.json").read_text())
    callback = json.loads((record / "callback.json").read_text())
    assert re.fullmatch(ARGO_LINK, links["log_url"]), links
    assert callback == {"log_url": links["log_url"], "mark_success_url": links["log_url"]}


@needs_airflow
def test_without_argo_ui_url_the_link_is_a_placeholder_and_env_connections_still_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "record"
    record.mkdir()
    monkeypatch.setenv("BRIDGE_TEST_RECORD", str(record))
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", "postgres://etl@warehouse.internal/sales")
    monkeypatch.setenv("AIRFLOW_VAR_REGION", "eu-west")
    result = run_cli("run", str(SECRETS_DAG), "--run-date", "2024-01-01")
    assert result.exit_code == 0, result.output
    assert json.loads((record / "task.json").read_text())["region"] == "eu-west"
    url = json.loads((record / "callback.json").read_text())["log_url"]
    assert url.startswith("https://argo-ui-url-not-set.invalid/split-with--argo-ui-url?workflow=secrets-")
    assert "task_id=read_secrets" in url and "localhost" not in url and "8080" not in url


@needs_airflow
def test_bridge_run_names_the_missing_stand_in() -> None:
    result = run_cli("run", str(SECRETS_DAG), "--run-date", "2024-01-01", "--secret-volume", f"airflow-secrets:{MOUNT}")
    assert result.exit_code == 1
    assert "the Secret 'airflow-secrets' mounted at /var/secrets/airflow does not exist here" in result.output
