"""`bridge run` runs a native KubernetesPodOperator pod's command on this machine (the host engine),
between Airflow tasks, with the trigger rules Airflow would apply to its outcome (docs/SEMANTICS.md,
"KubernetesPodOperator"): exit 0 is success, exit 3 fails the task, its `one_failed` downstream
runs, its `all_success` downstream is upstream_failed, and the DagRun succeeds as Airflow's would
(its leaves `after` and `alert` succeeded; `never` is upstream_failed, so it fails the run)."""

from __future__ import annotations

import ast
import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import DATA, run_cli
from tests.parity.test_parity import RUN_DATE

pytest.importorskip("airflow.providers.cncf.kubernetes")

TEMPLATED = DATA / "kpo" / "templated_pods.py"


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


def airflow_rendered_fields(tmp_path: Path) -> dict:
    """Airflow's own rendering of `report` (`airflow dags test`: Airflow renders, stores the rendered
    fields, then the operator fails for want of a cluster): arguments and env values."""
    from tests.parity.test_parity import airflow_dags_test

    states = airflow_dags_test(TEMPLATED, "kpo_templated", tmp_path)
    assert states["tasks"]["report"] == "failed"  # no Kubernetes here: it rendered, then found no cluster
    with sqlite3.connect(tmp_path / "reference" / "airflow.db") as connection:
        rows = dict(connection.execute("SELECT task_id, rendered_fields FROM rendered_task_instance_fields").fetchall())
    fields, labelled = json.loads(rows["report"]), json.loads(rows["labelled"])
    env = fields["env_vars"]
    env = ast.literal_eval(env) if isinstance(env, str) else env  # Airflow 2 stores the list's repr
    return {"args": fields["arguments"], "env": [item["value"] for item in env],
            "labels": labelled["labels"], "annotations": labelled["annotations"]}


def test_templated_fields_render_per_run_as_airflow_renders_them(tmp_path: Path) -> None:
    """The render step gives the pod Airflow's own rendering: ds, params, macros, an upstream's XCom,
    in its arguments, env and labels and annotations."""
    report = tmp_path / "report.json"
    result = run_cli("run", str(TEMPLATED), "--run-date", RUN_DATE, "--report", str(report))
    assert result.exit_code == 0 and json.loads(report.read_text())["tasks"] == {
        "produce": "success", "report": "success", "after": "success", "labelled": "success"
    }, result.output
    logs = Path(re.search(r"logs in (\S+)", result.output).group(1).rstrip(";"))
    printed = (logs / "report.pod.log").read_text()
    want = airflow_rendered_fields(tmp_path / "airflow")
    assert f"args: {' '.join(want['args'])}" in printed, printed
    assert f"env: {' '.join(want['env'])}" in printed, printed
    assert want["args"][2] == "42"  # the upstream's XCom reached the template
    # Templated label and annotation values: the pod's own metadata (read back by the downward API).
    metadata = (logs / "labelled.pod.log").read_text()
    labels, annotations = want["labels"], want["annotations"]
    assert f"metadata: {labels['run-date']} {annotations['example.com/region']} {labels['fixed']}" in metadata, metadata
    assert annotations["example.com/region"] == "eu-sales"


def test_a_pods_return_json_is_its_xcom_for_airflow_tasks_and_other_pods(tmp_path: Path) -> None:
    """do_xcom_push=True: the pod's /airflow/xcom/return.json is its return_value, read by a TaskFlow
    task (its argument) and by another pod's templates; the upstream's XCom reached the first pod."""
    report = tmp_path / "report.json"
    result = run_cli("run", str(DATA / "kpo" / "xcom_pods.py"), "--run-date", RUN_DATE, "--report", str(report))
    assert json.loads(report.read_text())["tasks"] == {
        "produce": "success", "count": "success", "check": "success", "again": "success",
        "quiet": "skipped", "never": "skipped", "finish": "success",
    }, result.output
    assert result.exit_code == 0, result.output


def test_skip_on_exit_code_skips_the_task_and_its_downstream_as_airflow_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A skip code makes the task skipped (not retried: one attempt), its downstream follow their
    trigger rules as for any skip, another code fails it after its retries, and a templated command
    renders first: every state and the DagRun's are Airflow's own for the same DAG (the oracle: its
    BashOperator twin under `airflow dags test`, tests/data/kpo/skip_pods.py)."""
    from tests.parity.test_parity import airflow_dags_test

    dag_file = DATA / "kpo" / "skip_pods.py"
    report = tmp_path / "report.json"
    result = run_cli("run", str(dag_file), "--run-date", RUN_DATE, "--report", str(report))
    found = json.loads(report.read_text())
    monkeypatch.setenv("KPO_SKIP_ORACLE", "bash")
    want = airflow_dags_test(dag_file, "kpo_skips", tmp_path / "airflow")
    assert found["tasks"] == want["tasks"] and found["state"] == want["state"], result.output
    assert want["tasks"]["skipped"] == "skipped" and want["tasks"]["failed"] == "failed"  # the corpus does both
    attempts = {line.split()[0]: line.split()[2] for line in result.output.splitlines() if line.startswith(("skipped.pod ", "failed.pod "))}
    assert attempts == {"skipped.pod": "1", "failed.pod": "2"}, result.output


def callback_records(path: Path) -> list[dict]:
    return sorted((json.loads(line) for line in path.read_text().splitlines()), key=lambda r: (r["task"], r["callback"]))


def test_task_callbacks_of_native_pods_fire_as_airflows_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """on_success/on_failure/on_skipped_callback of native pods (one in default_args, as alerting
    is usually set): the same callbacks fire, once each, at the same try_number, with the same
    exception type, as Airflow's own for the same DAG (the oracle: its BashOperator twin under
    `airflow dags test`, tests/data/kpo/callback_pods.py): a failure after its retry (try 2), a
    success at the second try, a skip code, and a templated command."""
    from tests.parity.test_parity import airflow_dags_test

    dag_file = DATA / "kpo" / "callback_pods.py"
    ours, airflows = tmp_path / "ours", tmp_path / "airflow"
    ours.mkdir()
    monkeypatch.setenv("KPO_CALLBACK_RECORD", str(ours / "callbacks.jsonl"))
    report = tmp_path / "report.json"
    result = run_cli("run", str(dag_file), "--run-date", RUN_DATE, "--report", str(report))
    found = json.loads(report.read_text())
    airflows.mkdir()
    monkeypatch.setenv("KPO_CALLBACK_RECORD", str(airflows / "callbacks.jsonl"))
    monkeypatch.setenv("KPO_SKIP_ORACLE", "bash")
    want = airflow_dags_test(dag_file, "kpo_callbacks", airflows)
    assert found["tasks"] == want["tasks"] and found["state"] == want["state"], result.output
    records = callback_records(ours / "callbacks.jsonl")
    assert records == callback_records(airflows / "callbacks.jsonl"), result.output
    assert {(r["task"], r["callback"], r["try"]) for r in records} >= {("broken", "failure", 2), ("flaky", "success", 2)}
