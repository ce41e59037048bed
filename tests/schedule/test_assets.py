"""Assets (datasets on Airflow 2) on Argo, the producer's side (docs/SCHEDULES.md, "Assets"): a task
with outlets writes the asset events Airflow itself recorded for it (output `a`), and its
Workflow is labelled with each asset it produces, which is how consumers' schedules find them."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.constants import ASSET_LABEL_PREFIX
from bridge.names import asset_label
from bridge.version_compat import AIRFLOW_3
from tests.helpers import DATA, run_cli, split, templates
from tests.parity.test_parity import airflow_db_template

PRODUCE = DATA / "assets" / "produce.py"
ASSETS = ("s3://lake/customers", "s3://lake/orders")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return split(PRODUCE, tmp_path_factory.mktemp("produce") / "out")


def airflow_events(tmp_path: Path) -> dict[str, list[tuple[str, Any]]]:
    """The reference: `airflow dags test produce`, then the events in its database, per task: (uri, extra)."""
    home = tmp_path / "reference"
    (home / "dags").mkdir(parents=True)
    shutil.copy(PRODUCE, home / "dags")
    db = home / "airflow.db"
    shutil.copy(airflow_db_template(), db)
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}",
           "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    airflow = str(Path(sys.executable).with_name("airflow"))
    if not AIRFLOW_3:  # Airflow 2's `dags test` does not register datasets; its DAG processor does, as this
        subprocess.run([airflow, "dags", "reserialize"], capture_output=True, env=env, timeout=900, check=True)
    done = subprocess.run([airflow, "dags", "test", "produce", "2024-01-02"], capture_output=True, text=True, env=env,
                          timeout=900, check=False)
    table, key = ("asset", "asset_id") if AIRFLOW_3 else ("dataset", "dataset_id")
    with sqlite3.connect(db) as connection:
        rows = connection.execute(f"SELECT e.source_task_id, a.uri, e.extra FROM {table}_event e JOIN {table} a "
                                  f"ON a.id = e.{key} ORDER BY e.id").fetchall()
    assert rows, done.stdout[-3000:] + done.stderr[-3000:]
    events: dict[str, list[tuple[str, Any]]] = {}
    for task, uri, extra in rows:
        events.setdefault(task, []).append((uri, json.loads(extra) if extra else {}))
    return events


def test_a_producing_task_writes_the_events_airflow_records(out: Path, tmp_path: Path) -> None:
    bridge_task = str(Path(sys.executable).with_name("bridge-task"))
    ours: dict[str, list[tuple[str, Any]]] = {}
    for task in ("orders", "customers", "broken"):
        outputs = tmp_path / task
        done = subprocess.run([bridge_task, "run", str(out / "dags" / "produce" / f"{task}.py"), "--run-date", "2024-01-02",
                               "--outputs", str(outputs)], capture_output=True, text=True, timeout=300, check=False)
        recorded = json.loads((outputs / "assets.json").read_text())
        assert all(event["timestamp"].endswith("+00:00") for event in recorded), recorded
        if recorded:
            ours[task] = [(event["uri"], event["extra"]) for event in recorded]
        assert (outputs / "state").read_text().strip() == ("failed" if task == "broken" else "success"), done.stdout[-2000:]
    # A failed task records none; the extra set at run time (outlet_events) comes along.
    assert ours == airflow_events(tmp_path) == {
        "orders": [("s3://lake/orders", {"day": "2024-01-02", "rows": 42})], "customers": [("s3://lake/customers", {})]}


def test_the_producers_workflow_is_labelled_with_its_assets_and_its_tasks_output_them(out: Path) -> None:
    workflow = yaml.safe_load((out / "workflows" / "produce.yaml").read_text())
    labels = workflow["metadata"]["labels"]
    assert {key for key in labels if key.startswith(ASSET_LABEL_PREFIX)} == {asset_label(uri, ASSET_LABEL_PREFIX) for uri in ASSETS}
    assert all(len(key.split("/", 1)[1]) <= 63 for key in labels)
    (template,) = [t for t in templates(workflow).values() if "container" in t]
    outputs = {p["name"]: p["valueFrom"] for p in template["outputs"]["parameters"]}
    assert outputs["a"] == {"path": "/tmp/bridge/out/assets.json", "default": "[]"}
    linted = run_cli("lint", "--strict", str(out / "workflows"))
    assert linted.exit_code == 0, linted.output
