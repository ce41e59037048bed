"""Shared fixtures: a private AIRFLOW_HOME, the Airflow line, and running `bridge split`."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bridge-tests-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# As `bridge split` does in its own process: it reports DagBag import errors itself.
os.environ.setdefault(
    "AIRFLOW__LOGGING__NAMESPACE_LEVELS", "airflow.dag_processing.dagbag=critical airflow.models.dagbag=critical"
)

import pytest  # noqa: E402

from tests.helpers import airflow_major  # noqa: E402


@pytest.fixture(scope="session")
def airflow_line() -> int:
    """2 or 3: the installed Airflow line."""
    return airflow_major()
