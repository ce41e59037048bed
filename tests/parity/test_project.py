"""Parity for a whole project: every DAG of examples/warehouse ends in the states `airflow dags test` gives.

The project is run as Airflow runs it: its dags folder is Airflow's dags folder (so `common` imports from
the root), its `plugins/` is Airflow's plugins folder (macros, the custom operator module on `sys.path`),
templates come from beside the DAGs and from `include/` through an absolute `template_searchpath`, and
`.airflowignore` keeps the broken scratch file out. SQL runs against SQLite through `AIRFLOW_CONN_WAREHOUSE_DB`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.parity.test_parity import RUN_DATE, airflow_db_template, bridge_run, task_states

PROJECT = ROOT / "examples" / "warehouse"
DAGS = PROJECT / "dags"
PLUGINS = PROJECT / "plugins"
# An in-memory SQLite database per connection: every SQL task is self-contained (each pod has its own /tmp).
CONNECTIONS = {"AIRFLOW_CONN_WAREHOUSE_DB": '{"conn_type": "sqlite", "host": ":memory:"}'}

# What `airflow dags test DAG_ID 2024-01-02` gives for each DAG of the example; the same on both lines.
REFERENCE = {
    "warehouse_customers": {
        "state": "success",
        "tasks": {"segments": "success", "score": ["success", "success", "success"], "best": "success"},
    },
    "warehouse_daily_orders": {
        "state": "success",
        "tasks": {"load_orders": "success", "daily_totals": "success", "check_volume": "success",
                  "publish": "success", "alert_low_volume": "skipped", "done": "success"},
    },
    "warehouse_maintenance": {
        "state": "success",
        "tasks": {"monthly_window": "success", "compact_partitions": "skipped", "audit": "success"},
    },
    "warehouse_weekly_report": {
        "state": "success",
        "tasks": {"week_summary": "success", "summarise": "success", "print_report": "success"},
    },
}


def airflow_dags_test_project(
    dags_folder: Path, plugins_folder: Path | None, dag_id: str, tmp_path: Path, connections: dict[str, str] | None = None
) -> dict:
    """The reference: `airflow dags test DAG_ID DATE` with the project's dags and plugins folders.

    The project (the common parent of both folders, so siblings such as `include/` come along) is copied
    first: the DAG files compute absolute paths from `__file__`, and the run must not write into the repo.
    """
    root = Path(os.path.commonpath([dags_folder, plugins_folder or dags_folder.parent]))
    home = tmp_path / "reference"
    project = home / "project"
    shutil.copytree(root, project, ignore=shutil.ignore_patterns("__pycache__"))
    dags = project / dags_folder.relative_to(root)
    plugins = project / plugins_folder.relative_to(root) if plugins_folder else home / "plugins"
    db = home / "airflow.db"
    shutil.copy(airflow_db_template(), db)
    env = {
        **os.environ,
        **(CONNECTIONS if connections is None else connections),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    done = subprocess.run([airflow, "dags", "test", dag_id, RUN_DATE], capture_output=True, text=True, env=env,
                          timeout=900, check=False)
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ? ORDER BY task_id, map_index",
            (dag_id,),
        ).fetchall()
        states = [row[0] for row in connection.execute("SELECT state FROM dag_run WHERE dag_id = ?", (dag_id,))]
    assert len(states) == 1, done.stdout[-3000:] + done.stderr[-3000:]
    return {"state": states[0], "tasks": task_states(rows)}


@pytest.mark.parametrize("dag_id", sorted(REFERENCE))
def test_bridge_run_matches_airflow_dags_test(dag_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`bridge run <dags folder> --dag-id ID` ends every task as `airflow dags test` does (pinned in REFERENCE)."""
    reference = airflow_dags_test_project(DAGS, PLUGINS, dag_id, tmp_path)
    assert reference == REFERENCE[dag_id], "the example behaves differently under Airflow itself: update REFERENCE"
    for name, value in CONNECTIONS.items():
        monkeypatch.setenv(name, value)
    ours = bridge_run(DAGS, dag_id, tmp_path)
    assert ours["dag_id"] == dag_id and ours["run_date"] == RUN_DATE
    differing = {
        task_id: (ours["tasks"].get(task_id), state)
        for task_id, state in sorted(reference["tasks"].items())
        if ours["tasks"].get(task_id) != state
    }
    assert differing == {}, f"task states (bridge run, airflow dags test) differ: {differing}"
    assert set(ours["tasks"]) == set(reference["tasks"])
    assert ours["state"] == reference["state"]
