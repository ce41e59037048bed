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
from tests.schedule.test_submit import kube  # noqa: F401 (the fixture)

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
    subjects = [*ASSETS, *(f"name:{uri}" for uri in ASSETS if AIRFLOW_3)]  # Airflow 3: each asset's name (= its URI) too
    assert {key for key in labels if key.startswith(ASSET_LABEL_PREFIX)} == {asset_label(s, ASSET_LABEL_PREFIX) for s in subjects}
    assert all(len(key.split("/", 1)[1]) <= 63 for key in labels)
    (template,) = [t for t in templates(workflow).values() if "container" in t]
    outputs = {p["name"]: p["valueFrom"] for p in template["outputs"]["parameters"]}
    assert outputs["a"] == {"path": "/tmp/bridge/out/assets.json", "default": "[]"}
    linted = run_cli("lint", "--strict", str(out / "workflows"))
    assert linted.exit_code == 0, linted.output


# --------------------------------------------------------------------------- the consumer's side

CONSUME = DATA / "assets" / "consume.py"


@pytest.fixture(scope="module")
def consumers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return split(CONSUME, tmp_path_factory.mktemp("consume") / "out")


def producer_run(name: str, out: Path, events: dict[str, list[dict[str, Any]]], phase: str = "Succeeded",
                 dag: str = "produce") -> dict[str, Any]:
    """A Workflow of `dag` as Argo leaves it: labelled as split labels it, each task's pod with its output `a`."""
    workflow = yaml.safe_load((out / "workflows" / f"{dag.replace('_', '-')}.yaml").read_text())
    nodes = {f"{name}-{i}": {"name": f"{name}.{task}", "displayName": task, "type": "Pod", "phase": phase,
                             "outputs": {"parameters": [{"name": "a", "value": json.dumps(records)}]}}
             for i, (task, records) in enumerate(events.items())}
    return {"metadata": {"name": name, "labels": workflow["metadata"]["labels"],
                         "annotations": {"bridge.dev/dag-id": dag}}, "status": {"phase": phase, "nodes": nodes}}


def event(uri: str, task: str, stamp: str, run: str, **extra: Any) -> dict[str, Any]:
    """One event as bridge-task writes it (assets.json)."""
    return {"uri": uri, "name": uri, "extra": extra, "timestamp": stamp, "dag_id": "produce", "task_id": task,
            "run_id": run, "map_index": -1}


def fire(consumers: Path, dag: str) -> None:
    """One CronJob fire of the consumer: `bridge submit --from-cronjob` (the API server keeps what it creates)."""
    result = run_cli("submit", str(consumers / "workflows" / f"{dag.replace('_', '-')}.yaml"), "--from-cronjob", "--namespace", "team")
    assert result.exit_code == 0, result.output


def runs_of(cluster: Any, dag: str) -> list[dict[str, Any]]:
    return sorted((w for w in cluster.workflows.values() if w["metadata"]["labels"].get("bridge.dev/dag") == dag.replace("_", "-")),
                  key=lambda w: w["metadata"]["name"])


def test_an_assetall_consumer_waits_for_both_and_runs_once(kube: Any, out: Path, consumers: Path) -> None:  # noqa: F811
    orders = event("s3://lake/orders", "orders", "2024-01-02T01:00:00+00:00", "manual__1", rows=42)
    kube.workflows["produce-1"] = producer_run("produce-1", out, {"orders": [orders]})
    fire(consumers, "on_both")
    assert runs_of(kube, "on_both") == []  # AssetAll: customers has no event yet
    fire(consumers, "on_either")
    (either,) = runs_of(kube, "on_either")  # AssetAny: orders alone is enough
    customers = event("s3://lake/customers", "customers", "2024-01-02T02:00:00+00:00", "manual__2")
    kube.workflows["produce-2"] = producer_run("produce-2", out, {"customers": [customers]})
    fire(consumers, "on_both")
    fire(consumers, "on_both")  # the next minute, or the Job retried: nothing twice
    (both,) = runs_of(kube, "on_both")
    # Airflow's scheduler: triggered at the newest queued asset's first event, consuming every event since.
    assert both["metadata"]["name"] == "on-both-20240102020000000000"  # to the microsecond: asset runs come close
    assert both["metadata"]["annotations"]["bridge.dev/asset-triggered"] == "2024-01-02T02:00:00+00:00"
    parameters = {p["name"]: p["value"] for p in both["spec"]["arguments"]["parameters"]}
    assert [(e["uri"], e["extra"]) for e in json.loads(parameters["asset-events"])] == [
        ("s3://lake/orders", {"rows": 42}), ("s3://lake/customers", {})]
    assert parameters["run-id"].startswith("asset_triggered__2024-01-02T02:00:00+00:00" if AIRFLOW_3 else
                                           "dataset_triggered__2024-01-02T02:00:00+00:00")
    # A new orders event: AssetAll waits for customers again; AssetAny runs again, on that event only.
    later = event("s3://lake/orders", "orders", "2024-01-02T03:00:00+00:00", "manual__3", rows=7)
    kube.workflows["produce-3"] = producer_run("produce-3", out, {"orders": [later]})
    fire(consumers, "on_both")
    assert len(runs_of(kube, "on_both")) == 1
    fire(consumers, "on_either")
    assert [w["metadata"]["annotations"]["bridge.dev/asset-triggered"] for w in runs_of(kube, "on_either")] == [
        either["metadata"]["annotations"]["bridge.dev/asset-triggered"], "2024-01-02T03:00:00+00:00"]
    # A failed producer's pod recorded nothing (its output is Airflow's: no event).
    kube.workflows["produce-4"] = producer_run("produce-4", out, {"customers": []}, phase="Failed")
    fire(consumers, "on_both")
    assert len(runs_of(kube, "on_both")) == 1


def test_the_consumers_task_sees_airflows_triggering_events(consumers: Path, tmp_path: Path) -> None:
    events = [event("s3://lake/orders", "orders", "2024-01-02T01:00:00+00:00", "manual__1", rows=42),
              event("s3://lake/customers", "customers", "2024-01-02T02:00:00+00:00", "manual__2")]
    bridge_task = str(Path(sys.executable).with_name("bridge-task"))
    run_id = ("asset" if AIRFLOW_3 else "dataset") + "_triggered__2024-01-02T02:00:00+00:00"
    done = subprocess.run([bridge_task, "run", str(consumers / "dags" / "on_both" / "report.py"), "--run-date",
                           "2024-01-02T02:00:00+00:00", "--run-id", run_id, "--asset-events", json.dumps(events),
                           "--outputs", str(tmp_path / "o")], capture_output=True, text=True, timeout=300, check=False)
    log = done.stdout + done.stderr
    assert (tmp_path / "o" / "state").read_text().strip() == "success", log[-3000:]
    assert "triggered by s3://lake/orders [{'rows': 42}]" in log and "triggered by s3://lake/customers [{}]" in log, log[-3000:]


def test_split_gives_asset_schedules_a_cronjob(consumers: Path) -> None:
    for dag in ("on-both", "on-either", "on-orders-or-daily"):
        text = (consumers / "cronjobs" / f"{dag}.yaml").read_text()
        assert "schedule: '* * * * *'" in text, text
    linted = run_cli("lint", "--strict", str(consumers))
    assert linted.exit_code == 0, linted.output


def airflow_scheduler(tmp_path: Path, uris: list[str], sources: tuple[Path, ...] = (PRODUCE, CONSUME)) -> dict[str, Any]:
    """The reference: Airflow's own scheduler (tests/schedule/asset_scheduler.py) over the same DAGs,
    recording an event of each URI in turn and creating its DagRuns after each."""
    home = tmp_path / "scheduler"
    (home / "dags").mkdir(parents=True)
    for source in sources:
        shutil.copy(source, home / "dags")
    db = home / "airflow.db"
    shutil.copy(airflow_db_template(), db)
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}",
           "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False", "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "0"}
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "dags", "reserialize"], capture_output=True, env=env, timeout=900, check=True)
    script = Path(__file__).with_name("asset_scheduler.py")
    done = subprocess.run([sys.executable, str(script), *uris], capture_output=True, text=True, env=env, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_consumer_runs_are_the_runs_airflows_scheduler_creates(kube: Any, out: Path, consumers: Path, tmp_path: Path) -> None:  # noqa: F811
    """Orders, then customers, then orders again, the consumers looked at after each event: the
    asset-triggered runs (which, and the events each consumes) equal Airflow's own scheduler's."""
    steps = ["s3://lake/orders", "s3://lake/customers", "s3://lake/orders"]
    reference = airflow_scheduler(tmp_path, steps)
    dags = ("on_both", "on_either", "on_orders_or_daily")
    for i, recorded in enumerate(reference["events"]):
        task = recorded["uri"].rsplit("/", 1)[-1]
        kube.workflows[f"produce-{i}"] = producer_run(f"produce-{i}", out, {task: [event(recorded["uri"], task, recorded["timestamp"], f"manual__{i}")]})
        for dag in dags:
            fire(consumers, dag)

    def consumed(runs: list[dict[str, Any]]) -> dict[str, list[list[tuple[str, str]]]]:
        by_dag: dict[str, list[list[tuple[str, str]]]] = {dag: [] for dag in dags}
        for run in sorted(runs, key=lambda r: r["triggered"]):
            by_dag[run["dag_id"]].append([(e["uri"], e["timestamp"]) for e in run["consumed"]])
        return by_dag

    ours = [{"dag_id": w["metadata"]["annotations"]["bridge.dev/dag-id"], "triggered": w["metadata"]["annotations"]["bridge.dev/asset-triggered"],
             "consumed": json.loads({p["name"]: p["value"] for p in w["spec"]["arguments"]["parameters"]}["asset-events"])}
            for w in kube.workflows.values() if "bridge.dev/asset-triggered" in w["metadata"]["annotations"]]
    assert consumed(ours) == consumed(reference["runs"])
    assert [len(runs) for runs in consumed(ours).values()] == [1, 3, 2]
    # Triggered at the queue row's creation in Airflow (its event's registration, a few ms after the
    # event's timestamp), at the event itself here.
    import datetime as dt

    for mine, theirs in zip(sorted(ours, key=lambda r: (r["dag_id"], r["triggered"])),
                            sorted(reference["runs"], key=lambda r: (r["dag_id"], r["triggered"]))):
        gap = dt.datetime.fromisoformat(theirs["triggered"]) - dt.datetime.fromisoformat(mine["triggered"])
        assert dt.timedelta(0) <= gap < dt.timedelta(seconds=1), (mine, theirs)


# --------------------------------------------------------------------------- aliases and references

ALIASED = DATA / "assets" / "aliased.py"


def test_alias_and_reference_consumers_run_as_airflows_scheduler_runs_them(kube: Any, tmp_path: Path) -> None:  # noqa: F811
    """An alias the producer fills at run time, and (Airflow 3) an asset consumed by its name and by a
    URI reference (and with the alias): which runs, consuming which events, equal Airflow's own scheduler's."""
    out = split(ALIASED, tmp_path / "out")
    workflow = yaml.safe_load((out / "workflows" / "produce-aliased.yaml").read_text())
    subjects = ("alias:exports", "name:orders_named", "s3://lake/orders-named") if AIRFLOW_3 else ("alias:exports",)
    assert {key for key in workflow["metadata"]["labels"] if key.startswith(ASSET_LABEL_PREFIX)} == {
        asset_label(subject, ASSET_LABEL_PREFIX) for subject in subjects}
    steps = ["s3://lake/exports/2024-01-02@exports", "s3://lake/orders-named", "s3://lake/exports/2024-01-03@exports"]
    steps = steps if AIRFLOW_3 else [step for step in steps if "@" in step]
    reference = airflow_scheduler(tmp_path, steps, (ALIASED,))
    dags = ("on_alias", "on_name", "on_uri_ref_and_alias") if AIRFLOW_3 else ("on_alias",)
    for i, (step, recorded) in enumerate(zip(steps, reference["events"])):
        uri, _, alias = step.partition("@")
        record = {**event(uri, "export" if alias else "named", recorded["timestamp"], f"manual__{i}"),
                  "dag_id": "produce_aliased", **({"aliases": [alias]} if alias else {"name": "orders_named"})}
        task = record["task_id"]
        kube.workflows[f"produce-aliased-{i}"] = producer_run(f"produce-aliased-{i}", out, {task: [record]}, dag="produce_aliased")
        for dag in dags:
            fire(out, dag)
    ours = [{"dag_id": w["metadata"]["annotations"]["bridge.dev/dag-id"],
             "consumed": [(e["uri"], e["timestamp"]) for e in json.loads(
                 {p["name"]: p["value"] for p in w["spec"]["arguments"]["parameters"]}["asset-events"])]}
            for w in sorted(kube.workflows.values(), key=lambda w: w["metadata"]["name"])
            if "bridge.dev/asset-triggered" in w["metadata"]["annotations"]]
    theirs = [{"dag_id": r["dag_id"], "consumed": [(e["uri"], e["timestamp"]) for e in r["consumed"]]}
              for r in sorted(reference["runs"], key=lambda r: (r["dag_id"], r["triggered"]))]
    assert sorted(ours, key=lambda r: r["dag_id"]) == theirs
    assert [r["dag_id"] for r in theirs] == (["on_alias", "on_alias", "on_name", "on_uri_ref_and_alias"] if AIRFLOW_3
                                             else ["on_alias", "on_alias"])
    linted = run_cli("lint", "--strict", str(out))
    assert linted.exit_code == 0, linted.output
