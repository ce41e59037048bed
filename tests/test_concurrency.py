"""Airflow's concurrency guard rails -> Argo synchronization: max_active_runs, pools,
max_active_tis_per_dag and depends_on_past (docs/SCHEDULES.md, "Concurrency")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.lint import lint_paths
from bridge.lint.kube import check_kubernetes
from tests.helpers import DATA, ROOT, load_workflow, run_cli, split, task_template, validate_argo

CONCURRENCY = DATA / "dags" / "concurrency_dag.py"
SERIAL = DATA / "dags" / "serial_dag.py"


def semaphores(template: dict[str, Any]) -> list[tuple[str, str]]:
    refs = (template.get("synchronization") or {}).get("semaphores") or []
    return [(ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"]) for ref in refs]


def config_maps(path: Path) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in yaml.safe_load_all(path.read_text()) if d and d["kind"] == "ConfigMap"}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return split(CONCURRENCY, tmp_path_factory.mktemp("concurrency") / "out", "--pool-slots", "api=2")


def test_max_active_runs_above_one_is_a_workflow_semaphore(out: Path) -> None:
    workflow = load_workflow(out)
    assert workflow["spec"]["synchronization"] == {
        "semaphores": [{"configMapKeyRef": {"name": "bridge-dag-concurrency", "key": "max-active-runs"}}]
    }


def test_pools_and_max_active_tis_per_dag_are_template_semaphores(out: Path) -> None:
    workflow = load_workflow(out)
    fetches = {task_template(workflow, f"fetch_{i}")["name"] for i in range(4)}
    assert len(fetches) == 1  # one pool, same settings: one shared template
    assert semaphores(task_template(workflow, "fetch_0")) == [("bridge-pool-api", "slots")]
    assert semaphores(task_template(workflow, "load")) == [
        ("bridge-pool-warehouse", "slots"),
        ("bridge-dag-concurrency", "max-active-tis-per-dag.load"),
    ]
    # Airflow's default_pool gets no semaphore unless asked for.
    assert semaphores(task_template(workflow, "report")) == [("bridge-dag-concurrency", "max-active-tis-per-dag.report")]


def test_limits_are_configmaps_in_sync_and_in_the_cronjob_manifest(out: Path) -> None:
    maps = config_maps(out / "sync" / "concurrency.yaml")
    assert {name: m["data"] for name, m in maps.items()} == {
        "bridge-dag-concurrency": {"max-active-runs": "3", "max-active-tis-per-dag.load": "1", "max-active-tis-per-dag.report": "2"},
        "bridge-pool-api": {"slots": "2"},
        "bridge-pool-warehouse": {"slots": "1"},  # no --pool-slots: the safe minimum, with a warning
    }
    # A pool's ConfigMap names no DAG: every DAG using the pool applies the same object.
    assert maps["bridge-pool-api"]["metadata"] == {"name": "bridge-pool-api", "annotations": {"bridge.dev/pool": "api"}}
    for document in maps.values():
        assert check_kubernetes(document) == []
    cronjob = [d for d in yaml.safe_load_all((out / "cronjobs" / "concurrency.yaml").read_text()) if d]
    assert [d["metadata"]["name"] for d in cronjob[:3]] == sorted(maps)  # applied before anything runs
    assert cronjob[:3] == [maps[name] for name in sorted(maps)]


def test_bridge_lint_passes_the_output(out: Path) -> None:
    report = lint_paths([str(out)])
    assert report.ok(strict=True), [str(f) for f in report.findings]
    assert str(out / "sync" / "concurrency.yaml") in report.files


def test_pool_slots_change_only_the_configmap(out: Path, tmp_path: Path) -> None:
    other = split(CONCURRENCY, tmp_path / "out", "--pool-slots", "api=7", "--pool-slots", "unused=4")
    for rel in ("workflows/concurrency.yaml", "dags/concurrency/load.py"):
        assert (other / rel).read_bytes() == (out / rel).read_bytes()
    assert config_maps(other / "sync" / "concurrency.yaml")["bridge-pool-api"]["data"] == {"slots": "7"}
    assert "bridge-pool-unused" not in (other / "sync" / "concurrency.yaml").read_text()


def test_default_pool_gets_a_semaphore_when_given_slots(tmp_path: Path) -> None:
    out = split(CONCURRENCY, tmp_path / "out", "--pool-slots", "default_pool=8")
    workflow = load_workflow(out)
    assert semaphores(task_template(workflow, "report"))[0] == ("bridge-pool-default-pool", "slots")
    assert config_maps(out / "sync" / "concurrency.yaml")["bridge-pool-default-pool"]["data"] == {"slots": "8"}


def test_split_warns_about_unknown_slots_and_pool_slots(tmp_path: Path) -> None:
    result = run_cli("split", str(CONCURRENCY), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0
    assert "kubectl apply -f " + str(tmp_path / "out" / "sync" / "concurrency.yaml") in result.output
    assert "pool 'api' (tasks 'fetch_0', 'fetch_1', 'fetch_2' …): its slots live in Airflow's database" in result.output
    assert "pass --pool-slots api=N" in result.output
    assert "task 'load' has pool_slots=2, but an Argo semaphore gives each task one slot" in result.output


@pytest.mark.parametrize("value", ["api", "api=0", "api=-1", "=3", "api=two"])
def test_bad_pool_slots_is_a_usage_error(value: str, tmp_path: Path) -> None:
    result = run_cli("split", str(CONCURRENCY), "-o", str(tmp_path / "out"), "--pool-slots", value)
    assert result.exit_code == 2
    assert "is not POOL=N with N a positive integer" in result.output
    assert not (tmp_path / "out").exists()


def test_depends_on_past_serialises_runs_with_a_mutex(tmp_path: Path) -> None:
    result = run_cli("split", str(SERIAL), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0
    assert "depends_on_past (tasks 'incremental'): runs of the DAG are serialised" in result.output
    workflow = load_workflow(tmp_path / "out")
    # The mutex already allows one run; max_active_runs=3 adds nothing, so no ConfigMap is needed.
    assert workflow["spec"]["synchronization"] == {"mutexes": [{"name": "bridge-dag-serial"}]}
    assert not (tmp_path / "out" / "sync").exists()
    assert "synchronization" not in task_template(workflow, "incremental")


def test_airflows_default_max_active_runs_is_not_a_semaphore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # [core] max_active_runs_per_dag (16) is the scheduler's general safety net, not a choice of the DAG.
    workflow = load_workflow(split(ROOT / "examples" / "etl" / "etl.py", tmp_path / "etl"))
    assert "synchronization" not in workflow["spec"]
    monkeypatch.setenv("AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG", "3")
    workflow = load_workflow(split(CONCURRENCY, tmp_path / "out"))
    assert "synchronization" not in workflow["spec"]


def test_cronworkflow_carries_the_locks_and_matches_argo_schema(tmp_path: Path) -> None:
    out = split(CONCURRENCY, tmp_path / "out", "--schedule", "cronworkflow")
    text = (out / "cronworkflows" / "concurrency.yaml").read_text()
    assert "# First (once, and after every change): kubectl apply -f sync/concurrency.yaml" in text
    cron = yaml.safe_load(text)
    assert cron["spec"]["workflowSpec"]["synchronization"]["semaphores"][0]["configMapKeyRef"]["key"] == "max-active-runs"
    validate_argo(cron)
    validate_argo(load_workflow(out))
