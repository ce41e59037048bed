"""The installed Airflow line, for the split side and the task runner alike.

Read once from the package metadata, never by importing Airflow: the task runner must set
Airflow's environment (bridge/runtime/env.py) before the first `import airflow`, and this
module is imported before that. Like the `version_compat.py` of Airflow's providers, it is
the one place that knows which line is installed; everything else asks `AIRFLOW_3`.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

AIRFLOW_VERSION: str = metadata.version("apache-airflow")
AIRFLOW_MAJOR: int = int(AIRFLOW_VERSION.split(".")[0])
AIRFLOW_3: bool = AIRFLOW_MAJOR >= 3
AIRFLOW_LINE: tuple[int, int] = (AIRFLOW_MAJOR, int(AIRFLOW_VERSION.split(".")[1]))
# Where DagBag lives: airflow.models.dagbag up to 3.1, airflow.dag_processing.dagbag from 3.2
# (3.1 also has BundleDagBag and sync_bag_to_db there; 3.0 has neither).
DAGBAG_MODULE: str = "airflow.dag_processing.dagbag" if AIRFLOW_LINE >= (3, 2) else "airflow.models.dagbag"


def is_mapped(task: Any) -> bool:
    """Whether the task is dynamically mapped (`.expand()`: a MappedOperator or a subclass of it).

    By class name, so it needs no Airflow import and holds on both lines (the class lives in
    `airflow.models.mappedoperator` on Airflow 2, `airflow.sdk.definitions.mappedoperator` on 3).
    """
    return any(cls.__name__ == "MappedOperator" for cls in type(task).__mro__)
