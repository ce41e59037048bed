"""Fixtures of the parity tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest


@pytest.fixture(scope="session")
def corpus_reference(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], dict[str, Any]]:
    """`airflow dags test` states of a corpus DAG file (dag_id = file stem), computed once per session."""
    from tests.parity.test_parity import airflow_dags_test

    cache: dict[str, dict[str, Any]] = {}

    def states(dag_file: Path) -> dict[str, Any]:
        if dag_file.stem not in cache:
            cache[dag_file.stem] = airflow_dags_test(dag_file, dag_file.stem, tmp_path_factory.mktemp(dag_file.stem))
        return cache[dag_file.stem]

    return states
