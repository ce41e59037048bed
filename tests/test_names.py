"""Airflow ids -> Argo names: valid, deterministic, collision-free."""

from __future__ import annotations

import re
from pathlib import Path

from bridge.names import CRON_NAME_MAX, TASK_NAME_MAX, WORKFLOW_PREFIX_MAX, argo_name, argo_names
from tests.helpers import DATA, dag_tasks, load_workflow, split, task_ids

VALID = re.compile(r"^[a-z0-9][-a-z0-9]*$")


def test_plain_ids_are_lower_cased_and_cleaned() -> None:
    assert argo_name("Extract_Orders") == "extract-orders"
    assert argo_name("group.task") == "group-task"
    assert argo_name("__x__") == "x"
    assert argo_name("café_été") == "caf-t"
    assert argo_name("1_extract") == "t1-extract"  # Argo's depends reads a leading digit as a number


def test_collisions_get_a_stable_suffix_on_every_member() -> None:
    mapped = argo_names(["load_data", "load-data", "other"])
    assert mapped["other"] == "other"
    assert mapped["load_data"] != mapped["load-data"]
    assert all(name.startswith("load-data-") and len(name) == len("load-data-") + 8 for name in
               (mapped["load_data"], mapped["load-data"]))
    assert argo_names(["load-data", "load_data", "other"]) == mapped


def test_truncation_adds_a_hash_and_respects_each_limit() -> None:
    long = "a" * 250
    for limit in (TASK_NAME_MAX, WORKFLOW_PREFIX_MAX, CRON_NAME_MAX):
        name = argo_name(long, limit)
        assert len(name) == limit and VALID.match(name)
    assert argo_name(long + "1") != argo_name(long + "2")
    assert argo_name("b" * TASK_NAME_MAX) == "b" * TASK_NAME_MAX


def test_names_dag_emits_valid_distinct_names(tmp_path: Path) -> None:
    out = split(DATA / "dags" / "names_dag.py", tmp_path / "out")
    workflow = load_workflow(out)
    assert workflow["metadata"]["generateName"] == "names-of-things-"
    tasks = dag_tasks(workflow)
    assert len(tasks) == 5
    for name in tasks:
        assert VALID.match(name) and len(name) <= TASK_NAME_MAX, name
    ids = task_ids(out)
    long_id = "extract_" + "x" * 192
    assert ids["stage.clean.up"] == "stage-clean-up"
    assert ids["café_été"] == "caf-t"
    assert len(ids[long_id]) == TASK_NAME_MAX
    assert ids["load_data"] != ids["load-data"]
    ups = sorted(ids[t] for t in ("load-data", "load_data"))
    assert tasks[ids[long_id]]["depends"] == " && ".join(ups)  # bare names: Succeeded or Skipped
