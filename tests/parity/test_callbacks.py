"""DAG-level callbacks under `bridge run` (the Workflow's exit handler, real processes, real Airflow): fired
once per run with Airflow's state, reason and context, compared with `airflow dags test` of the same DAG."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import DATA, airflow_major, split
from tests.parity.test_parity import RUN_DATE, airflow_dags_test

DAGS = DATA / "callbacks" / "callback_dags.py"


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Point the DAGs' callbacks and marker at files that exist before the run; return a reader of the calls."""
    log, marker = tmp_path / "callbacks.jsonl", tmp_path / "marker"

    def reset() -> None:
        log.write_text("")
        marker.write_text("")

    def calls() -> list[dict]:
        return [json.loads(line) for line in log.read_text().splitlines()]

    reset()
    monkeypatch.setenv("BRIDGE_TEST_CALLBACK_LOG", str(log))
    monkeypatch.setenv("BRIDGE_TEST_MARKER", str(marker))
    calls.reset = reset  # type: ignore[attr-defined]
    return calls


def bridge_run(dag_id: str, tmp_path: Path) -> tuple[dict, subprocess.CompletedProcess]:
    report = tmp_path / f"{dag_id}-report.json"
    bridge = str(Path(sys.executable).with_name("bridge"))
    done = subprocess.run(
        [bridge, "run", str(DAGS), "--dag-id", dag_id, "--run-date", RUN_DATE, "--report", str(report),
         "--retry-delay-scale", "0"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(report.read_text()), done


@pytest.mark.parametrize("dag_id, state, kind, reason", [
    ("cb_success", "success", "on_success_callback", "success"),
    ("cb_failure", "failed", "on_failure_callback", "task_failure"),
    # flaky fails its first try and succeeds on its retry: one success callback, none for the failed try.
    ("cb_retry", "success", "on_success_callback", "success"),
])
def test_dag_callback_fires_once_as_in_airflow(dag_id: str, state: str, kind: str, reason: str, tmp_path: Path, recorded) -> None:
    report, done = bridge_run(dag_id, tmp_path)
    ours = recorded()
    assert report["state"] == state, done.stderr[-3000:]
    assert len(ours) == 1, (ours, done.stdout[-3000:])
    assert (ours[0]["kind"], ours[0]["reason"], ours[0]["state"]) == (kind, reason, state)
    assert ours[0]["params"] == {"limit": 3} and ours[0]["ds"] == RUN_DATE
    recorded.reset()
    reference = airflow_dags_test(DAGS, dag_id, tmp_path)
    theirs = recorded()
    assert reference["state"] == state
    assert len(theirs) == 1, theirs
    # `airflow dags test` names its run after the time it ran on Airflow 3 (bridge: manual__<logical date>).
    assert ours[0].pop("run_id") == f"manual__{RUN_DATE}T00:00:00+00:00"
    theirs[0].pop("run_id")
    if airflow_major() == 2:
        # Airflow 2.11's `dags test` calls the callback inside update_state, before the new state is
        # stored, so its dag_run reads `running`; the scheduler's path (a DagCallbackRequest run by the
        # dag processor after the state was committed), which bridge follows, reads the final state.
        assert theirs[0]["state"] == "running"
        theirs[0]["state"] = state
    differing = {key: (ours[0][key], theirs[0].get(key)) for key in ours[0] if ours[0][key] != theirs[0].get(key)}
    assert differing == {}, "(bridge run, airflow dags test)"


def test_dagrun_timeout_fails_the_run_and_fires_the_failure_callback_timed_out(tmp_path: Path, recorded) -> None:
    # `airflow dags test` does not enforce dagrun_timeout (only the scheduler does): no reference run.
    report, done = bridge_run("cb_timeout", tmp_path)
    ours = recorded()
    assert report["state"] == "failed" and report["tasks"] == {"first": "success", "slow": "failed"}, done.stderr[-3000:]
    assert "Failed" in done.stdout.splitlines()[-1]
    assert [(c["kind"], c["reason"], c["state"], c["ti"]) for c in ours] == [
        ("on_failure_callback", "timed_out", "failed", "slow")
    ]


def test_exit_handler_only_for_dags_with_dag_callbacks(tmp_path: Path) -> None:
    out = split(DAGS, tmp_path / "out")
    for name in ("cb-success", "cb-failure", "cb-retry", "cb-timeout"):
        spec = yaml.safe_load((out / "workflows" / f"{name}.yaml").read_text())["spec"]
        assert spec["onExit"] == "airflow-dag-callback"
        handler = [t for t in spec["templates"] if t["name"] == spec["onExit"]]
        assert handler and handler[0]["container"]["args"][0] == "dag-callback"
    spec = yaml.safe_load((out / "workflows" / "cb-none.yaml").read_text())["spec"]
    assert "onExit" not in spec
    assert "airflow-dag-callback" not in [t["name"] for t in spec["templates"]]
