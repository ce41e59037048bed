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
    # What Argo would store about this run (status.nodes): the split-time estimate of a run where
    # every task succeeds once with empty XComs (docs/LINT.md, "Node status") is this run's nodes
    # but for the XCom documents, which this run's real XComs make larger.
    import json

    from bridge.argo.status import EMPTY_DOCUMENT, status_bytes, typical_nodes
    from bridge.local.report import argo_nodes

    actual = argo_nodes(result, workflow)
    estimate = typical_nodes(workflow["spec"], result.workflow_name)
    assert sorted(n["name"] for n in actual) == sorted(n["name"] for n in estimate)
    assert {n["type"] for n in actual} == {"DAG", "Retry", "Pod", "Suspend"}
    (real, real_gz), (least, least_gz) = status_bytes(actual), status_bytes(estimate)
    assert least < real and real_gz < real / 3 and least_gz < least / 3
    for node in actual:  # the same run without its XComs
        for param in (node.get("inputs") or {}).get("parameters", []) + (node.get("outputs") or {}).get("parameters", []):
            if param["name"] == "x" and "value" in param:
                param["value"] = EMPTY_DOCUMENT
    emptied = status_bytes(actual)[0]
    assert abs(emptied - least) <= 0.02 * least, (emptied, least, json.dumps(actual)[:2000])
