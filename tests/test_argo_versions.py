"""`--argo-version`: what bridge split emits for each maintained Argo line is what that line's own
schema and CRDs accept (vendored, tests/data/argo/), and bridge lint applies that line's rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.helpers import ARGO_RELEASES, DATA, load_workflow, run_cli, split, task_template, validate_argo

# A DAG with retries, a capped exponential backoff (backoff.cap) and a schedule; the branch DAG.
DAGS = [DATA / "dags" / "settings_dag.py", DATA / "parity" / "parity_branch.py"]


def _argo_documents(out: Path) -> list[dict[str, Any]]:
    documents = []
    for path in sorted(out.rglob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d and d["apiVersion"].startswith("argoproj.io/")]
    return documents


@pytest.mark.parametrize("release", ARGO_RELEASES)
def test_each_line_gets_what_its_schema_accepts(release: str, tmp_path: Path) -> None:
    line = ".".join(release.lstrip("v").split(".")[:2])
    for dag in DAGS:
        # A CronWorkflow as well as the Workflow (settings_dag is scheduled).
        out = split(dag, tmp_path / f"{dag.stem}-{line}", "--argo-version", line, "--schedule", "cronworkflow")
        kinds = set()
        for document in _argo_documents(out):
            validate_argo(document, release)
            kinds.add(document["kind"])
        assert kinds == ({"Workflow", "CronWorkflow"} if dag.stem == "settings_dag" else {"Workflow"})
        result = run_cli("lint", str(out), "--argo-version", line)
        assert result.exit_code == 0, result.output


def test_newest_output_is_refused_by_3_6_and_lint_says_why(tmp_path: Path) -> None:
    out = split(DATA / "dags" / "settings_dag.py", tmp_path / "out")
    assert task_template(load_workflow(out), "retried")["retryStrategy"]["backoff"]["cap"] == "600s"
    with pytest.raises(AssertionError, match=r"fields outside Argo v3\.6\.19's schema: \['\.spec\.templates\[\d+\]\.retryStrategy\.backoff\.cap'\]"):
        validate_argo(load_workflow(out), "v3.6.19")
    result = run_cli("lint", str(out), "--argo-version", "3.6")
    assert result.exit_code == 1
    assert "retryStrategy.backoff.cap: Argo 3.6 has no backoff.cap (it came in 3.7)" in result.output
    # 3.7 knows the field.
    assert run_cli("lint", str(out), "--argo-version", "3.7.0").exit_code == 0


def test_a_cap_that_would_bind_is_reported_when_dropped(tmp_path: Path) -> None:
    dag = tmp_path / "capped.py"
    dag.write_text(
        "import datetime as dt\n"
        "from airflow import DAG\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('capped', start_date=dt.datetime(2024, 1, 1), schedule=None):\n"
        "    EmptyOperator(task_id='t', retries=4, retry_delay=dt.timedelta(seconds=60),\n"
        "                  retry_exponential_backoff=True, max_retry_delay=dt.timedelta(minutes=5))\n"
        if _has_standard_provider() else
        "import datetime as dt\n"
        "from airflow import DAG\n"
        "from airflow.operators.empty import EmptyOperator\n"
        "with DAG('capped', start_date=dt.datetime(2024, 1, 1), schedule=None):\n"
        "    EmptyOperator(task_id='t', retries=4, retry_delay=dt.timedelta(seconds=60),\n"
        "                  retry_exponential_backoff=True, max_retry_delay=dt.timedelta(minutes=5))\n"
    )
    result = run_cli("split", str(dag), "-o", str(tmp_path / "out"), "--argo-version", "3.6.19")
    assert result.exit_code == 0, result.output
    assert "cap" not in task_template(load_workflow(tmp_path / "out"), "t")["retryStrategy"]["backoff"]
    # 60 s doubling over 4 retries: the last waits 480 s, past max_retry_delay.
    assert (
        "warning: DAG 'capped', task 't': Argo 3.6.19 has no retryStrategy.backoff.cap, so max_retry_delay (300s) "
        "is not applied: the last retry waits 480s"
    ) in result.output


def _has_standard_provider() -> bool:
    import importlib.util

    return importlib.util.find_spec("airflow.providers.standard") is not None


def test_hanging_releases_are_named(tmp_path: Path) -> None:
    result = run_cli("split", str(DATA / "parity" / "parity_branch.py"), "-o", str(tmp_path / "out"), "--argo-version", "4.0")
    assert result.exit_code == 0, result.output
    assert "warning: Argo Workflows 4.0.2, 4.0.3 hang on the Workflows bridge emits for 4.0" in result.output
    lint = run_cli("lint", str(tmp_path / "out"), "--argo-version", "4.0.2")
    assert lint.exit_code == 0 and "warning: Argo Workflows 4.0.2 never starts a task" in lint.output
    assert run_cli("lint", str(tmp_path / "out"), "--argo-version", "4.0.2", "--strict").exit_code == 1
    quiet = run_cli("split", str(DATA / "parity" / "parity_branch.py"), "-o", str(tmp_path / "q"), "--argo-version", "4.0.7")
    assert quiet.exit_code == 0 and "warning: Argo" not in quiet.output


@pytest.mark.parametrize(
    "value, message",
    [
        ("3.5", "Argo Workflows 3.5 is older than 3.6, the oldest line bridge supports"),
        ("latest", "'latest' is not an Argo Workflows version: give X.Y or X.Y.Z"),
    ],
)
def test_bad_versions_are_usage_errors(value: str, message: str, tmp_path: Path) -> None:
    result = run_cli("split", str(DATA / "dags" / "settings_dag.py"), "-o", str(tmp_path / "out"), "--argo-version", value)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "out").exists()


def test_schema_check_itself_can_fail() -> None:
    # The vendored 3.6.19 CRD refuses a type error as a cluster would (not only unknown fields).
    workflow = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "x-"},
                "spec": {"entrypoint": "main", "templates": [{"name": "main", "suspend": {}}], "parallelism": "two"}}
    with pytest.raises(jsonschema.ValidationError):
        validate_argo(workflow, "v3.6.19")
