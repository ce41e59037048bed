"""Airflow 3: the time restriction bridge computes on the DAG equals the scheduler's, after serialization."""

from __future__ import annotations

import pytest

from bridge.version_compat import AIRFLOW_3


@pytest.mark.skipif(not AIRFLOW_3, reason="Airflow 2's DAG computes its own restriction")
def test_restriction_equals_the_serialized_dags() -> None:
    import datetime as dt

    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG
    from airflow.serialization.serialized_objects import DagSerialization

    from bridge.airflow.timetables import _scheduler_restriction

    utc = dt.timezone.utc
    cases = []
    with DAG("plain", start_date=dt.datetime(2024, 1, 1, tzinfo=utc), schedule="@daily", catchup=True) as plain:
        EmptyOperator(task_id="a")
    cases.append(plain)
    with DAG("bounded", start_date=dt.datetime(2024, 3, 1, tzinfo=utc), end_date=dt.datetime(2024, 6, 1, tzinfo=utc),
             schedule="0 3 * * *") as bounded:
        EmptyOperator(task_id="early", start_date=dt.datetime(2024, 2, 1, tzinfo=utc),
                      end_date=dt.datetime(2024, 7, 1, tzinfo=utc))
        EmptyOperator(task_id="late", end_date=dt.datetime(2024, 5, 1, tzinfo=utc))
    cases.append(bounded)
    with DAG("tasks_only", schedule="@hourly", catchup=False) as tasks_only:
        EmptyOperator(task_id="t", start_date=dt.datetime(2024, 1, 5, tzinfo=utc))
    cases.append(tasks_only)
    for dag in cases:
        scheduler = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))._time_restriction
        assert _scheduler_restriction(dag) == scheduler, dag.dag_id
