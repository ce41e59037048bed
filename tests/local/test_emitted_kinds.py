"""Every Workflow bridge emits runs through the local engine with the real bridge-task.

The split's own Workflow is tests/local/test_etl_end_to_end.py; here: the Workflow of `bridge
backfill --workflow-out` (a steps fan-out, withItems over the dates, the DAG template with inputs
and the run lock) and the workflowSpec of `bridge split --schedule cronworkflow` (a steps
entrypoint whose first step dates the run and exports it as global outputs).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import yaml

from bridge.local import load_workflow, report, run_workflow

pytestmark = pytest.mark.skipif(importlib.util.find_spec("airflow") is None, reason="needs Apache Airflow")

KINDS_DAG = '''
import pendulum
from airflow import DAG
try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:
    from airflow.operators.bash import BashOperator
with DAG("kinds", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule="@daily", catchup=False, max_active_runs=1):
    first = BashOperator(task_id="first", bash_command='echo "first {{ ds }} {{ run_id }}" >> "$BRIDGE_TEST_KINDS_OUT"')
    second = BashOperator(task_id="second", bash_command='echo "second {{ ds }} {{ run_id }}" >> "$BRIDGE_TEST_KINDS_OUT"')
    first >> second
'''


@pytest.fixture
def kinds(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """The DAG file, its split folder, and the environment pods get (taken before Airflow is loaded here)."""
    from bridge.run import ensure_db_template
    from tests.helpers import split

    out = tmp_path / "record.txt"
    env = {**os.environ, "BRIDGE_TEST_KINDS_OUT": str(out)}
    ensure_db_template()
    dag_file = tmp_path / "kinds.py"
    dag_file.write_text(KINDS_DAG)
    split_dir = split(dag_file, tmp_path / "split", "--schedule", "cronworkflow")
    return dag_file, split_dir, env


def test_the_backfill_workflow_runs_every_date(kinds: tuple[Path, Path, dict[str, str]], tmp_path: Path) -> None:
    from tests.helpers import run_cli

    dag_file, split_dir, env = kinds
    backfill = tmp_path / "backfill.yaml"
    result = run_cli("backfill", str(dag_file), "--start", "2024-01-01", "--end", "2024-01-02", "--max-active", "2",
                     "--workflow-out", str(backfill))
    assert result.exit_code == 0, result.output
    outcome = run_workflow(load_workflow(str(backfill)), split_dir=str(split_dir), log_dir=str(tmp_path / "logs"),
                           retry_delay_scale=0.0, env=env)
    assert outcome.phase == "Succeeded", outcome.message
    runs = [key for key, node in outcome.nodes.items() if node.kind == "DAG"]
    assert runs == [
        "run(0:run-date:2024-01-01T00:00:00+00:00,run-id:backfill__2024-01-01T00:00:00+00:00)",
        "run(1:run-date:2024-01-02T00:00:00+00:00,run-id:backfill__2024-01-02T00:00:00+00:00)",
    ]
    assert outcome.nodes["run"].kind == "TaskGroup"
    lines = Path(env["BRIDGE_TEST_KINDS_OUT"]).read_text().splitlines()
    # max_active_runs=1: the DAG template's mutex runs the dates one after the other, in order.
    assert lines == [f"{task} 2024-01-0{day} backfill__2024-01-0{day}T00:00:00+00:00" for day in (1, 2) for task in ("first", "second")]
    assert report(outcome, "kinds", "2024-01-01")["tasks"] == {"first": "success", "second": "success"}


def test_the_cronworkflow_spec_runs_as_the_workflow_it_creates(kinds: tuple[Path, Path, dict[str, str]], tmp_path: Path) -> None:
    from tests.helpers import airflow_major

    _, split_dir, env = kinds
    cron = yaml.safe_load((split_dir / "cronworkflows" / "kinds.yaml").read_text())
    assert cron["kind"] == "CronWorkflow"
    # What the cron controller creates (ConvertCronWorkflowToWorkflow): the spec, and when it fired.
    workflow = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "generateName": "kinds-",
            "labels": (cron["spec"].get("workflowMetadata") or {}).get("labels") or {},
            "annotations": {"workflows.argoproj.io/scheduled-time": "2024-01-03T00:00:00Z"},
        },
        "spec": cron["spec"]["workflowSpec"],
    }
    outcome = run_workflow(workflow, split_dir=str(split_dir), log_dir=str(tmp_path / "logs"), retry_delay_scale=0.0, env=env)
    assert outcome.phase == "Succeeded", outcome.message
    ds = "2024-01-03" if airflow_major() >= 3 else "2024-01-02"  # Airflow's own timetable dates the run
    lines = Path(env["BRIDGE_TEST_KINDS_OUT"]).read_text().splitlines()
    assert [line.rsplit(" ", 1)[0] for line in lines] == [f"first {ds}", f"second {ds}"]
    assert lines[0].rsplit(" ", 1)[1].startswith("scheduled__")
