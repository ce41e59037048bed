"""A single XCom value over Argo's 256 KiB parameter limit has a supported path: Airflow's own
object-storage XCom backend (apache-airflow-providers-common-io), configured from a ConfigMap.

`bridge run` executes the DAG's Workflow; the store is a `file://` folder every pod of the host
engine sees, as every pod of a cluster sees an S3/GCS bucket (docs/SEMANTICS.md, "Large values")."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import DATA, run_cli

DAG = DATA / "xcom" / "large_xcom.py"
BACKEND = "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend"


def _run(tmp_path: Path, *extra: str) -> tuple[int, str, dict]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    report = tmp_path / "report.json"
    result = run_cli("run", str(DAG), "--run-date", "2024-01-01", "--retry-delay-scale", "0", "--report", str(report), *extra)
    return result.exit_code, result.output, json.loads(report.read_text()) if report.exists() else {}


def test_a_value_over_256_kib_fails_without_a_store_and_travels_through_the_object_store(tmp_path: Path) -> None:
    code, output, report = _run(tmp_path / "plain")
    assert code != 0 and report["tasks"] == {"produce": "failed", "consume": "upstream_failed"}, output
    assert "256 KiB" in output and "XComObjectStorageBackend" in output, output

    store = tmp_path / "xcom-store"
    objects = tmp_path / "objects" / "xcom-store"
    objects.mkdir(parents=True)
    settings = {
        "AIRFLOW__CORE__XCOM_BACKEND": BACKEND,
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH": f"file://{store}",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": "65536",
    }
    for name, value in settings.items():
        (objects / name).write_text(value)
    code, output, report = _run(tmp_path / "stored", "--env-from-configmap", "xcom-store",
                                "--secrets-dir", str(tmp_path / "objects"))
    assert code == 0 and report["tasks"] == {"produce": "success", "consume": "success"}, output
    # The value is in the store (as JSON: 600,000 characters and their quotes); the document held its path.
    stored = [path for path in store.rglob("*") if path.is_file()]
    assert [path.stat().st_size for path in stored] == [600_002], stored
