"""Golden files for every emitted kind, compared byte for byte, and the committed example outputs.

Regenerate on purpose with `BRIDGE_REGEN_GOLDEN=1 bash tests/run.sh -k golden` and review the diff.
The committed top-level example output (workflows/, images/, dags/, sources/) is generated on the
Airflow 3 line: `bridge split examples/bigquery_trends/github_hn_trends.py -o .`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import DATA, ROOT, airflow_major, read_tree, split

REGENERATE = os.environ.get("BRIDGE_REGEN_GOLDEN") == "1"
GOLDEN = ROOT / "tests" / "golden" / f"airflow-{airflow_major()}"
CASES = {
    "etl": ROOT / "examples" / "etl" / "etl.py",
    "github_hn_trends": ROOT / "examples" / "bigquery_trends" / "github_hn_trends.py",
    "settings_dag": DATA / "dags" / "settings_dag.py",
    "names_dag": DATA / "dags" / "names_dag.py",
    "concurrency_dag": DATA / "dags" / "concurrency_dag.py",
    "serial_dag": DATA / "dags" / "serial_dag.py",
    "callbacks_dag": DATA / "callbacks" / "callbacks_dag.py",
    "callbacks_dag_workflowtemplate": DATA / "callbacks" / "callbacks_dag.py",
    "serial_dag_workflowtemplate": DATA / "dags" / "serial_dag.py",
    "secrets_dag_pod_settings": DATA / "pods" / "secrets_dag.py",
}
# bridge split flags of a case (none: the defaults).
CASE_ARGS = {
    "serial_dag_workflowtemplate": ("--emit", "workflowtemplate"),
    "callbacks_dag_workflowtemplate": ("--emit", "workflowtemplate"),
    # Every pod flag (docs/DESIGN.md, "Secrets"): envFrom, service account, a Secret volume, the Argo UI link.
    "secrets_dag_pod_settings": (
        "--env-from-configmap", "airflow-secrets-backend", "--env-from-secret", "vault-token",
        "--service-account", "etl-runner", "--secret-volume", "airflow-secrets:/var/secrets/airflow",
        "--argo-ui-url", "https://argo.example.com",
    ),
}
TOP_LEVEL_EXAMPLE = CASES["github_hn_trends"]
TOP_LEVEL_LINE = 3


def _emitted(out: Path) -> dict[str, bytes]:
    """The output tree without the byte copies of the sources (checked against the originals)."""
    return {path: data for path, data in read_tree(out).items() if not path.startswith("sources/")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, tmp_path: Path) -> None:
    out = split(CASES[case], tmp_path / "out", *CASE_ARGS.get(case, ()))
    emitted = _emitted(out)
    golden = GOLDEN / case
    if REGENERATE:
        shutil.rmtree(golden, ignore_errors=True)
        for rel, data in emitted.items():
            (golden / rel).parent.mkdir(parents=True, exist_ok=True)
            (golden / rel).write_bytes(data)
    assert golden.exists(), f"no golden files for {case}: run with BRIDGE_REGEN_GOLDEN=1"
    expected = read_tree(golden)
    assert sorted(emitted) == sorted(expected)
    for rel in sorted(expected):
        assert emitted[rel].decode() == expected[rel].decode(), f"{case}/{rel} differs from its golden file"


def test_committed_example_output_is_current(tmp_path: Path) -> None:
    if airflow_major() != TOP_LEVEL_LINE:
        pytest.skip(f"the committed example output is generated on Airflow {TOP_LEVEL_LINE}")
    out = split(TOP_LEVEL_EXAMPLE, tmp_path / "out")
    emitted = read_tree(out)
    if REGENERATE:
        split(TOP_LEVEL_EXAMPLE, ROOT, "--force")
    stale = [rel for rel, data in emitted.items() if not (ROOT / rel).exists() or (ROOT / rel).read_bytes() != data]
    assert not stale, f"re-running bridge split would change {stale}; regenerate with BRIDGE_REGEN_GOLDEN=1"


PROJECT = ROOT / "examples" / "warehouse"
PROJECT_OUTPUT = PROJECT / "split"  # `bridge split examples/warehouse/dags -o examples/warehouse/split`


def test_committed_project_output_is_current(tmp_path: Path) -> None:
    """The example project's split output is committed and reviewed as a diff, like the BigQuery example's."""
    if airflow_major() != TOP_LEVEL_LINE:
        pytest.skip(f"the committed example output is generated on Airflow {TOP_LEVEL_LINE}")
    emitted = read_tree(split(PROJECT / "dags", tmp_path / "out"))
    if REGENERATE:
        split(PROJECT / "dags", PROJECT_OUTPUT, "--force")
    committed = read_tree(PROJECT_OUTPUT)
    stale = sorted(rel for rel in set(emitted) | set(committed) if emitted.get(rel) != committed.get(rel))
    assert not stale, f"re-running bridge split would change {stale}; regenerate with BRIDGE_REGEN_GOLDEN=1"


def test_the_project_output_lints_and_kustomize_renders_it() -> None:
    """`kubectl apply -k` installs the project: kustomize renders every listed file, each object once and valid."""
    import shutil
    import subprocess

    import yaml

    from bridge.lint import lint_paths
    from tests.helpers import validate_argo

    report = lint_paths([str(PROJECT_OUTPUT)])
    assert report.ok(strict=True), [str(finding) for finding in report.findings]
    kustomization = yaml.safe_load((PROJECT_OUTPUT / "kustomization.yaml").read_text())
    assert kustomization["resources"] == sorted(f"cronjobs/{p.name}" for p in (PROJECT_OUTPUT / "cronjobs").iterdir())
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (its kustomize renders the folder); the lint above still ran")
    rendered = subprocess.run([kubectl, "kustomize", str(PROJECT_OUTPUT)], capture_output=True, text=True, timeout=120,
                              check=False)
    assert rendered.returncode == 0, rendered.stderr
    documents = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    ids = [(doc["kind"], doc["metadata"]["name"]) for doc in documents]
    assert len(ids) == len(set(ids)) and sum(kind == "CronJob" for kind, _ in ids) == 4
    for doc in documents:
        if doc["apiVersion"].startswith("argoproj.io/"):
            validate_argo(doc)
