"""Airflow settings -> Argo fields, one test per mapping, on a real DAG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.constants import NO_RETRY_EXPRESSION
from tests.helpers import DATA, dag_tasks, load_workflow, split, task_template


@pytest.fixture(scope="module")
def workflow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return load_workflow(split(DATA / "dags" / "settings_dag.py", tmp_path_factory.mktemp("settings") / "out"))


# Argo's schema types IntOrString fields as strings; the controller accepts both.
def test_retries_become_retry_strategy_with_limit(workflow: dict[str, Any]) -> None:
    assert task_template(workflow, "retried")["retryStrategy"] == {
        "limit": "3",
        "retryPolicy": "Always",
        "expression": NO_RETRY_EXPRESSION,
        "backoff": {"duration": "90s", "factor": "2", "cap": "600s"},
    }
    assert task_template(workflow, "linear")["retryStrategy"] == {
        "limit": "1",
        "retryPolicy": "Always",
        "expression": NO_RETRY_EXPRESSION,
        "backoff": {"duration": "120s"},
    }
    assert "retryStrategy" not in task_template(workflow, "plain")


def test_execution_timeout_becomes_a_pod_deadline_with_grace(workflow: dict[str, Any]) -> None:
    assert task_template(workflow, "retried")["activeDeadlineSeconds"] == str(5 * 60 + 60)
    assert "activeDeadlineSeconds" not in task_template(workflow, "linear")


def test_dag_settings(workflow: dict[str, Any]) -> None:
    spec = workflow["spec"]
    assert spec["activeDeadlineSeconds"] == 7200
    assert spec["parallelism"] == 4
    notes = workflow["metadata"]["annotations"]
    assert notes["bridge.dev/dag-id"] == "settings"
    assert notes["bridge.dev/owner"] == "ops"
    assert notes["bridge.dev/tags"] == "finance,nightly"
    assert notes["workflows.argoproj.io/description"] == "# Settings\nEvery mapped setting."
    assert notes["bridge.dev/schedule"] == "30 23 * * *"


def test_params_become_workflow_parameters(workflow: dict[str, Any]) -> None:
    parameters = {p["name"]: p.get("value") for p in workflow["spec"]["arguments"]["parameters"]}
    assert parameters == {"run-date": None, "run-id": "", "region": "eu", "limit": "10", "flags": '{"dry": true}'}


def test_connections_come_from_a_secret_by_reference(workflow: dict[str, Any]) -> None:
    env = task_template(workflow, "copy")["container"]["env"]
    assert env == [
        {
            "name": "AIRFLOW_CONN_WAREHOUSE_DB",
            "valueFrom": {"secretKeyRef": {"name": "bridge-connections", "key": "warehouse_db", "optional": True}},
        }
    ]
    assert "env" not in task_template(workflow, "plain")["container"]


def test_queue_and_executor_config_kept_as_annotation(workflow: dict[str, Any]) -> None:
    settings = json.loads(workflow["metadata"]["annotations"]["bridge.dev/task-settings"])
    assert settings == {
        "copy": {
            "queue": "heavy",
            "executor_config": {"pod_override": {"spec": {"nodeSelector": {"disk": "ssd"}}}},
        }
    }


def test_pool_becomes_a_template_semaphore(workflow: dict[str, Any]) -> None:
    # More in tests/test_concurrency.py; the pool's slots are a ConfigMap key (sync/settings.yaml).
    assert task_template(workflow, "copy")["synchronization"] == {
        "semaphores": [{"configMapKeyRef": {"name": "bridge-pool-copies", "key": "slots"}}]
    }
    assert "synchronization" not in task_template(workflow, "plain")


def test_tasks_share_templates(workflow: dict[str, Any]) -> None:
    tasks = dag_tasks(workflow)
    containers = [t for t in workflow["spec"]["templates"] if "container" in t]
    assert len(tasks) == 4 and len(containers) == 4  # plain, retried, linear, copy differ in settings
    assert tasks["plain"]["template"] == "task"
    assert {t["template"] for t in tasks.values()} == {t["name"] for t in containers}


def test_identical_settings_share_one_template(tmp_path: Path) -> None:
    from tests.helpers import ROOT

    workflow = load_workflow(split(ROOT / "examples" / "bigquery_trends" / "github_hn_trends.py", tmp_path / "o"))
    containers = [t for t in workflow["spec"]["templates"] if "container" in t]
    assert len(dag_tasks(workflow)) == 7 and len(containers) == 1
    # max_active_runs=1: runs of this DAG queue behind one Argo mutex.
    assert workflow["spec"]["synchronization"] == {"mutexes": [{"name": "bridge-dag-github-hn-trends"}]}


def test_no_mutex_when_several_runs_may_overlap(workflow: dict[str, Any]) -> None:
    assert "synchronization" not in workflow["spec"]
