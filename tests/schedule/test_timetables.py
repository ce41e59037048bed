"""Cron semantics: the logical date bridge computes for a fire time, and the dates it backfills,
equal what Airflow's own timetable and backfill give, on the installed Airflow line."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from bridge.airflow import compat, timetables
from bridge.model import ScheduleSpec
from bridge.schedule.backfill import backfill_runs
from bridge.schedule.submit import logical_run
from tests.helpers import airflow_major

DAG_FILE = Path(__file__).parent / "data" / "schedules.py"
UTC = dt.timezone.utc
# A window that spans Europe/Paris' spring DST change (2024-03-31) and a month boundary.
WINDOW = (dt.datetime(2024, 3, 20, tzinfo=UTC), dt.datetime(2024, 4, 10, tzinfo=UTC))
CRON_DAGS = ["daily", "hourly", "weekly", "late_evening", "paris_weekdays", "bounded", "serial"]


def load_dags(path: Path) -> dict[str, Any]:
    """The DAGs of a file, loaded by real Airflow (bridge's own loader settings)."""
    compat.quiet_airflow()
    bag = compat.make_dagbag(str(path))
    assert not bag.import_errors, bag.import_errors
    return dict(bag.dags)


@pytest.fixture(scope="module")
def dags() -> dict[str, Any]:
    return load_dags(DAG_FILE)


def scheduler_dag(dag: Any) -> Any:
    """The DAG as Airflow's scheduler holds it (Airflow 3: the serialized DAG)."""
    if airflow_major() >= 3:
        from airflow.serialization.serialized_objects import DagSerialization

        return DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    return dag


def airflow_runs(dag: Any, earliest: dt.datetime, latest: dt.datetime) -> list[Any]:
    """Airflow's own DagRunInfos, as its scheduler would create them, from the DAG's restriction on."""
    sdag = scheduler_dag(dag)
    restriction = sdag._time_restriction
    start = max(restriction.earliest, earliest) if restriction.earliest else earliest
    end = min(restriction.latest, latest) if restriction.latest else latest
    if start > end:
        return []
    return list(sdag.iter_dagrun_infos_between(restriction.earliest, end))


def airflow_backfill(dag: Any, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The logical dates `airflow dags backfill` (2) / `airflow backfill create` (3) runs."""
    import pendulum

    start, end = pendulum.instance(start), pendulum.instance(end)
    if airflow_major() >= 3:
        from airflow.models.backfill import _get_info_list

        infos = _get_info_list(from_date=start, to_date=end, reverse=False, dag=scheduler_dag(dag))
    else:
        infos = list(dag.iter_dagrun_infos_between(start, end))  # BackfillJobRunner._execute
    return [info.logical_date for info in infos]


@pytest.mark.parametrize("dag_id", CRON_DAGS)
def test_logical_date_for_every_fire_time_matches_airflow(dags: dict[str, Any], dag_id: str) -> None:
    spec = timetables.describe_schedule(dags[dag_id])
    assert spec is not None and spec.cron, spec
    expected = airflow_runs(dags[dag_id], *WINDOW)
    if dag_id != "bounded":  # the bounded DAG ends before the window: check all of its runs
        expected = [info for info in expected if info.run_after >= WINDOW[0]]
    assert expected
    for info in expected[:200]:
        run = logical_run(ScheduleSpec.from_json(spec.to_json()), info.run_after)
        assert run.logical_date == info.logical_date, (dag_id, info.run_after)
        assert run.run_id == f"scheduled__{info.logical_date.isoformat()}"


def test_documented_example_daily(dags: dict[str, Any]) -> None:
    spec = timetables.describe_schedule(dags["daily"])
    run = logical_run(spec, dt.datetime(2024, 1, 2, tzinfo=UTC))
    expected = dt.date(2024, 1, 1) if airflow_major() == 2 else dt.date(2024, 1, 2)
    assert run.logical_date.date() == expected


def test_paris_weekdays_across_dst(dags: dict[str, Any]) -> None:
    spec = timetables.describe_schedule(dags["paris_weekdays"])
    assert (spec.cron, spec.timezone) == ("0 9 * * 1-5", "Europe/Paris")
    before = logical_run(spec, dt.datetime(2024, 3, 29, 8, tzinfo=UTC))  # Friday 09:00 CET
    after = logical_run(spec, dt.datetime(2024, 4, 1, 7, tzinfo=UTC))  # Monday 09:00 CEST
    if airflow_major() == 2:  # data intervals: the previous weekday's 09:00
        assert before.logical_date == dt.datetime(2024, 3, 28, 8, tzinfo=UTC)
        assert after.logical_date == dt.datetime(2024, 3, 29, 8, tzinfo=UTC)
    else:
        assert before.logical_date == dt.datetime(2024, 3, 29, 8, tzinfo=UTC)
        assert after.logical_date == dt.datetime(2024, 4, 1, 7, tzinfo=UTC)


def test_before_start_date_is_an_error(dags: dict[str, Any]) -> None:
    from bridge.errors import ScheduleError

    spec = timetables.describe_schedule(dags["bounded"])
    with pytest.raises(ScheduleError, match="no run is due"):
        logical_run(spec, dt.datetime(2024, 3, 1, tzinfo=UTC))


@pytest.mark.parametrize("dag_id", [*CRON_DAGS, "every_six_hours"])
@pytest.mark.parametrize(
    "start,end",
    [
        (dt.datetime(2024, 3, 25, tzinfo=UTC), dt.datetime(2024, 4, 3, tzinfo=UTC)),
        (dt.datetime(2024, 3, 30, 10, 15, tzinfo=UTC), dt.datetime(2024, 4, 1, 9, tzinfo=UTC)),
    ],
)
def test_backfill_dates_match_airflow(dags: dict[str, Any], dag_id: str, start: dt.datetime, end: dt.datetime) -> None:
    spec = timetables.describe_schedule(dags[dag_id])
    ours = [run.logical_date for run in backfill_runs(spec, start, end)]
    assert ours == airflow_backfill(dags[dag_id], start, end)
    assert all(run.run_id.startswith("backfill__") for run in backfill_runs(spec, start, end))


def test_create_cron_data_intervals_is_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow 3 with `[scheduler] create_cron_data_intervals = True` dates runs as Airflow 2 does."""
    flag = "False" if airflow_major() == 2 else "True"
    monkeypatch.setenv("AIRFLOW__SCHEDULER__CREATE_CRON_DATA_INTERVALS", flag)
    bag = compat.make_dagbag(str(DAG_FILE))
    spec = timetables.describe_schedule(bag.dags["daily"])
    run = logical_run(spec, dt.datetime(2024, 1, 2, tzinfo=UTC))
    expected = dt.date(2024, 1, 2) if airflow_major() == 2 else dt.date(2024, 1, 1)
    assert run.logical_date.date() == expected
    assert spec.semantics == ("trigger" if airflow_major() == 2 else "data-interval")
    assert os.environ["AIRFLOW__SCHEDULER__CREATE_CRON_DATA_INTERVALS"] == flag


def test_schedules_without_a_cron_line_say_why(dags: dict[str, Any]) -> None:
    spec = timetables.describe_schedule(dags["every_six_hours"])
    assert spec is not None and spec.semantics == "poll" and spec.cron == "0 0,6,12,18 * * *"
    assert "time interval" in spec.reason


@pytest.mark.parametrize(
    "expression,ok",
    [("0 0 * * *", True), ("*/5 9-17 * JAN,FEB MON-FRI", True), ("0 0 L * *", False), ("0 0 0 * * *", False), ("0 0 * * 1#2", False)],
)
def test_cron_line(expression: str, ok: bool) -> None:
    assert bool(timetables.cron_line(expression)) == ok


def _no_start_spec(timetable: Any, catchup: bool) -> ScheduleSpec:
    """A schedule as bridge split records it for a DAG without start_date (optional in Airflow 3)."""
    import json

    path = f"{type(timetable).__module__}.{type(timetable).__qualname__}"
    return ScheduleSpec(timetable=path, data=json.dumps(timetable.serialize(), sort_keys=True), catchup=catchup)


def _cron_timetables() -> list[Any]:
    from airflow.timetables.interval import CronDataIntervalTimetable
    from airflow.timetables.trigger import CronTriggerTimetable

    return [
        CronTriggerTimetable("0 6 * * *", timezone="UTC"),
        CronTriggerTimetable("15 * * * *", timezone="Europe/Paris"),
        CronDataIntervalTimetable("0 6 * * *", timezone="UTC"),
        CronDataIntervalTimetable("15 * * * *", timezone="Europe/Paris"),
    ]


@pytest.mark.parametrize("catchup", [False, True])
@pytest.mark.parametrize("index", range(4))
def test_run_due_without_start_date_is_the_run_airflows_scheduler_starts(index: int, catchup: bool) -> None:
    """No start_date: the scheduler asks the timetable for a first run with earliest=None, then chains;
    at each of those runs' run_after, bridge's run due is that run."""
    from airflow.timetables.base import TimeRestriction

    timetable = _cron_timetables()[index]
    spec = _no_start_spec(timetable, catchup)
    restriction = TimeRestriction(None, None, catchup)
    first = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    if first is None:  # Airflow never runs it (a data-interval DAG with catchup=True and no start_date)
        assert timetables.run_due_at(spec, dt.datetime.now(UTC)) is None
        return
    second = timetable.next_dagrun_info(last_automated_data_interval=first.data_interval, restriction=restriction)
    for theirs in (first, second):
        ours = timetables.run_due_at(spec, theirs.run_after)
        assert ours is not None and (ours.logical_date, ours.run_after) == (theirs.logical_date, theirs.run_after)


def test_logical_run_without_start_date_for_a_past_fire_time() -> None:
    from airflow.timetables.trigger import CronTriggerTimetable

    spec = _no_start_spec(CronTriggerTimetable("0 6 * * *", timezone="UTC"), catchup=False)
    run = logical_run(spec, dt.datetime(2024, 1, 2, 6, 0, 30, tzinfo=UTC))
    assert run.logical_date == dt.datetime(2024, 1, 2, 6, 0, tzinfo=UTC)
