"""`bridge run` keeps a pool's slots: real BashOperator tasks through bridge-task, one run."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG = ROOT / "tests" / "data" / "dags" / "concurrency_dag.py"
EVENT = re.compile(r"^\d\d:\d\d:\d\d \+\s*[\d.]+s (\S+): (started|succeeded|failed|errored|Waiting for \S+ lock)")

pytestmark = pytest.mark.skipif(importlib.util.find_spec("airflow") is None, reason="needs Apache Airflow")


def test_four_sleeping_tasks_in_a_pool_of_two_run_two_at_a_time(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    bridge = str(Path(sys.executable).with_name("bridge"))
    done = subprocess.run(
        [bridge, "run", str(DAG), "--run-date", "2024-01-02", "--pool-slots", "api=2", "--report", str(report)],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(report.read_text())["tasks"] == {
        "fetch_0": "success", "fetch_1": "success", "fetch_2": "success", "fetch_3": "success",
        "load": "success", "report": "success",
    }
    # The progress lines, in the order the engine recorded the events.
    events = [m.groups() for m in map(EVENT.match, done.stderr.splitlines()) if m]
    fetches = {f"fetch-{i}" for i in range(4)}
    running, peak, waited = set(), 0, []
    for task, what in events:
        if task not in fetches:
            continue
        if what == "started":
            running.add(task)
            peak = max(peak, len(running))
        elif what.startswith("Waiting for default/ConfigMap/bridge-pool-api/slots"):
            waited.append(task)
        else:
            running.discard(task)
    assert peak == 2, events  # the run's parallelism is 16: without the pool all four would start at once
    assert waited == ["fetch-2", "fetch-3"], events
    # Two start, and the third starts only after one of them ended.
    sequence = [what for task, what in events if task in fetches and what in ("started", "succeeded")]
    assert sequence[:3] == ["started", "started", "succeeded"], events
    assert sequence.count("started") == sequence.count("succeeded") == 4
