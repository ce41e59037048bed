"""The bundled ETL example: split it, then run its Workflow locally through the real bridge-task."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from bridge.local import load_workflow, report, run_workflow

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(importlib.util.find_spec("airflow") is None, reason="needs Apache Airflow")


def test_etl_example_runs_like_argo(tmp_path: Path):
    from bridge.split import split_dag

    out = tmp_path / "out"
    # Loading the DAG in-process sets AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING here; pods must not inherit it.
    env = dict(os.environ)
    split = split_dag(str(ROOT / "examples" / "etl" / "etl.py"), output=str(out))
    workflow = load_workflow(split.workflow_path)
    result = run_workflow(
        workflow,
        split_dir=str(out),
        parameters={"run-date": "2024-01-01"},
        retry_delay_scale=0.0,
        log_dir=str(tmp_path / "logs"),
        parallelism=4,
        env=env,
    )
    summary = report(result, "etl", "2024-01-01")
    assert summary["state"] == "success", summary
    assert summary["tasks"] == {t: "success" for t in ("greet", "extract", "transform", "report", "archive")}
    archive = next(node for node in result.nodes.values() if node.task == "archive")
    log = Path(archive.log_path).read_text()
    # transform totals (1 + 2 + 3) * multiplier 2 = 12; report's XCom reaches archive through Argo parameters.
    assert "archiving 2023-12-31 .. 2024-01-01: 2024-01-01: 12 items" in log
