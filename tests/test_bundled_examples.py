"""Airflow's own example DAGs: each one splits (and validates against Argo's schema) or is refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import BridgeError
from tests.helpers import load_workflow, validate_argo

# Why bridge refuses some bundled examples today; each refusal message must contain the reason.
REFUSED = {
    "example_task_group_mapping": "mapped task group",  # Airflow 3 only
    # An ExternalTaskSensor on a task group: a task group leaves no trace in a Workflow (Airflow 2's example).
    "example_external_task_marker_child": "waits on the task group 'parent_dag_task_group_id'",
}
# Files that yield no loadable DAG here: Kubernetes examples need the kubernetes package; the
# Airflow 2 dataset-alias and subdag examples query the metadata database while being parsed.
UNLOADABLE = {
    "example_kubernetes_executor.py": "no DAG found",
    "example_local_kubernetes_executor.py": "no DAG found",
    "example_dataset_alias.py": "reads Airflow's metadata database while it is parsed",
    "example_dataset_alias_with_no_taskflow.py": "reads Airflow's metadata database while it is parsed",
    "example_subdag_operator.py": "reads Airflow's metadata database while it is parsed",
}


def _example_files() -> list[Path]:
    import airflow

    folder = Path(airflow.__file__).parent / "example_dags"
    return sorted(p for p in folder.glob("*.py") if p.name != "__init__.py")


def _dag_ids(path: Path) -> list[str]:
    from bridge.airflow.compat import make_dagbag

    return sorted(make_dagbag(str(path)).dags)


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.stem)
def test_bundled_example(path: Path, tmp_path: Path) -> None:
    from bridge.split import split_dag

    ids = _dag_ids(path)
    if not ids:
        with pytest.raises(BridgeError) as refused:
            split_dag(str(path), output=str(tmp_path / "none"))
        assert UNLOADABLE[path.name] in str(refused.value)
        return
    for dag_id in ids:
        out = tmp_path / dag_id
        if dag_id in REFUSED:
            with pytest.raises(BridgeError) as refused:
                split_dag(str(path), dag_id=dag_id, output=str(out))
            assert REFUSED[dag_id] in str(refused.value)
            assert not out.exists()
            continue
        result = split_dag(str(path), dag_id=dag_id, output=str(out))
        assert result.task_count == len(list((out / "dags" / dag_id).glob("*.py")))
        validate_argo(load_workflow(out))
