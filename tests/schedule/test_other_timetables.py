"""Timetables no cron line expresses get a CronJob too: it fires on a line derived from Airflow's own
timetable, and at each fire `bridge submit` starts the run Airflow's scheduler would have started.
Over a simulated week of the CronJob's fires, the runs (logical date, data interval, run id) are
exactly those Airflow's scheduler creates in that week (docs/SCHEDULES.md, "Other timetables")."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from bridge.airflow import timetables
from bridge.emit.cronjob import STARTING_DEADLINE_SECONDS
from bridge.model import POLL
from bridge.names import run_name
from bridge.schedule.submit import catchup_runs, due_run, no_catchup_runs, runs_at_fire
from tests.helpers import airflow_major, load_workflow, run_cli, split, validate_argo
from tests.schedule.test_timetables import airflow_runs, load_dags

DAG_FILE = Path(__file__).parent / "data" / "other_timetables.py"
UTC = dt.timezone.utc
WEEK = (dt.datetime(2024, 3, 26, tzinfo=UTC), dt.datetime(2024, 4, 2, 23, 59, tzinfo=UTC))  # Paris DST on 03-31


@pytest.fixture(scope="module")
def dags() -> dict[str, Any]:
    return load_dags(DAG_FILE)


def fires(line: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """When a Kubernetes CronJob with this schedule (UTC) fires in [start, end]."""
    from croniter import croniter

    found, it = [], croniter(line, start - dt.timedelta(minutes=1))
    while (fire := it.get_next(dt.datetime)) <= end:
        found.append(fire)
    return found


def test_every_other_timetable_gets_a_poll_line_and_its_week_of_runs_matches_airflow(dags: dict[str, Any]) -> None:
    for dag_id, dag in sorted(dags.items()):
        spec = timetables.describe_schedule(dag)
        # A CronTriggerTimetable with an interval is a cron line; every other one is polled.
        assert spec is not None and spec.cron and (spec.semantics == POLL) == (dag_id != "four_hourly_trigger"), (dag_id, spec)
        expected = {
            (info.logical_date, info.data_interval.start, info.data_interval.end)
            for info in airflow_runs(dag, *WEEK) if WEEK[0] <= info.run_after <= WEEK[1]
        }
        assert expected, dag_id
        created: dict[str, tuple[Any, ...]] = {}  # Workflow name -> the run it starts
        before: set[tuple[Any, ...]] = set()  # runs due before the week, started by its first fire
        for fire in fires(spec.cron, *WEEK):
            info = timetables.run_due_at(spec, fire)
            run = due_run(spec, fire)
            if info is None:  # before the first run (the events): nothing to do
                assert run is None
                continue
            assert run is not None and run.logical_date == info.logical_date
            assert run.run_id == f"scheduled__{info.logical_date.isoformat()}"
            key = (info.logical_date, info.data_interval.start, info.data_interval.end)
            # A Workflow whose name exists is not created again: one run per name.
            created.setdefault(run_name(dag_id, run.logical_date), key)
            if info.run_after < WEEK[0]:
                before.add(key)
        assert set(created.values()) - before == expected, dag_id
        assert len(before) <= 1 and len(created) == len(set(created.values())), dag_id


def test_poll_lines_are_derived_from_the_timetable(dags: dict[str, Any]) -> None:
    lines = {dag_id: timetables.describe_schedule(dag).cron for dag_id, dag in dags.items()}
    assert lines["every_six_hours"] == "15 3,9,15,21 * * *"
    # 03:15, 04:45, 06:15 ...: a three-hour pattern
    assert lines["every_ninety_minutes"] == "15,45 0,1,3,4,6,7,9,10,12,13,15,16,18,19,21,22 * * *"
    assert lines["daily_at_0315"] == "15 3 * * *"
    assert lines["last_day_of_month"] == "0 6 * * *"
    assert lines["fixed_offset"] == "30 8 * * *"
    assert lines["events"] == "0,30,45 0,6,9,17 * * *"


def test_split_emits_a_valid_cronjob_for_each_and_refuses_a_cronworkflow(tmp_path: Path) -> None:
    out = split(DAG_FILE, tmp_path / "out", "--dag-id", "every_six_hours")
    cronjob = (out / "cronjobs" / "every-six-hours.yaml").read_text()
    delta = "DeltaDataIntervalTimetable" if airflow_major() == 2 else "DeltaTriggerTimetable"
    assert f"({delta}, polled at 15 3,9,15,21 * * * UTC)" in cronjob
    validate_argo(load_workflow(out))
    lint = run_cli("lint", "--strict", str(out))
    assert lint.exit_code == 0, lint.output
    refused = run_cli("split", str(DAG_FILE), "--dag-id", "every_six_hours", "--schedule", "cronworkflow", "-o", str(tmp_path / "cw"))
    assert refused.exit_code == 0 and "use --schedule cronjob" in refused.output, refused.output
    assert not (tmp_path / "cw" / "cronworkflows").exists()


# ------------------------------------------------------------------ an outage, catchup on and off

OUTAGE = (dt.datetime(2024, 3, 28, 1, 50, tzinfo=UTC), dt.datetime(2024, 3, 28, 11, 50, tzinfo=UTC))  # ten hours
STARTING_DEADLINE = dt.timedelta(seconds=STARTING_DEADLINE_SECONDS)


def _next(timetable: Any, last: Any, restriction: Any) -> Any:
    if hasattr(timetable, "next_dagrun_info_v2"):
        return timetable.next_dagrun_info_v2(last_dagrun_info=last, restriction=restriction)
    interval = None if last is None else last.data_interval
    return timetable.next_dagrun_info(last_automated_data_interval=interval, restriction=restriction)


def airflow_scheduler(spec: Any, last: Any, ticks: list[dt.datetime]) -> list[Any]:
    """Airflow's scheduler loop (`_create_dag_runs`, then `calculate_dagrun_date_fields`): at each
    tick it creates the run it had computed as next once that run is due, then asks the timetable,
    under the DAG's catchup and the tick's clock, for the next one."""
    from airflow.timetables.base import TimeRestriction

    timetable = timetables.rebuild(spec)
    earliest = dt.datetime.fromisoformat(spec.start_date) if spec.start_date else None  # None: the first look lays them
    restriction = TimeRestriction(earliest=earliest, latest=None, catchup=spec.catchup)
    with timetables.clock(last.run_after if last is not None else ticks[0]):
        upcoming = _next(timetable, last, restriction)  # computed live when `last` was created
    created = []
    for tick in ticks:
        with timetables.clock(tick):
            while upcoming is not None and upcoming.run_after <= tick:
                created.append(upcoming)
                upcoming = _next(timetable, upcoming, restriction)
    return created


DELTAS = ["every_six_hours", "every_ninety_minutes", "daily_at_0315"]
OTHERS = ["four_hourly_trigger", "last_day_of_month", "fixed_offset", "events", "two_crons"]


@pytest.mark.parametrize(("dag_id", "catchup"), [*((d, True) for d in DELTAS + OTHERS), *((d, False) for d in ["daily_at_0315", *OTHERS])])
def test_a_ten_hour_outage_gives_the_runs_airflow_gives(dags: dict[str, Any], dag_id: str, catchup: bool) -> None:
    if dag_id not in dags:
        pytest.skip(f"{dag_id}: Airflow 3 only")
    ours, expected = _outage(dags[dag_id], catchup)
    assert ours == expected, (dag_id, catchup)


@pytest.mark.parametrize("dag_id", ["every_six_hours", "every_ninety_minutes"])
def test_without_catchup_airflow_moves_a_delta_grid_to_its_return_and_bridge_keeps_it(
    dags: dict[str, Any], dag_id: str
) -> None:
    """The documented difference (docs/SCHEDULES.md, Catchup): after missed runs, Airflow's delta
    timetables with catchup=False may start the next run at the scheduler's return and lay the
    rest from there; bridge starts the same runs as Airflow up to the outage, then stays on the
    grid of the start_date."""
    ours, expected = _outage(dags[dag_id], False)
    before = [d for d in expected if d < OUTAGE[0]]
    spec = timetables.describe_schedule(dags[dag_id])
    start = dt.datetime.fromisoformat(spec.start_date)
    delta = dt.timedelta(seconds=json.loads(spec.data)["delta"])

    def on_grid(date: dt.datetime) -> bool:
        return (date - start).total_seconds() % delta.total_seconds() == 0

    assert ours[: len(before)] == before and all(on_grid(d) for d in ours), dag_id
    # Equal where Airflow stays on its grid too (Airflow 2's 6-hour interval), else Airflow's moved.
    assert ours == expected or not all(on_grid(d) for d in expected), dag_id


def _outage(dag: Any, catchup: bool) -> tuple[list[dt.datetime], list[dt.datetime]]:
    """The logical dates bridge's CronJob and Airflow's scheduler start over WEEK with OUTAGE."""
    spec = dataclasses.replace(timetables.describe_schedule(dag), catchup=catchup)
    last = timetables.run_due_at(spec, WEEK[0])  # the DAG's latest run before the week, if it had one
    minutes = [WEEK[0] + dt.timedelta(minutes=i) for i in range(int((WEEK[1] - WEEK[0]).total_seconds() // 60) + 1)]
    ticks = [t for t in minutes if not OUTAGE[0] <= t < OUTAGE[1]]
    expected = [i.logical_date for i in airflow_scheduler(spec, last, ticks)]

    schedule = fires(spec.cron, *WEEK)
    missed = [f for f in schedule if OUTAGE[0] <= f < OUTAGE[1]]
    # After the outage the CronJob controller starts the latest missed fire, if within startingDeadlineSeconds.
    late = [missed[-1]] if missed and OUTAGE[1] - missed[-1] <= STARTING_DEADLINE else []
    runs: dict[dt.datetime, Any] = {last.logical_date.astimezone(UTC): None} if last is not None else {}  # in the namespace
    ours = []
    for fire in sorted([f for f in schedule if f not in missed] + late):
        latest = max(runs, default=None)
        due = catchup_runs(spec, fire, latest)[0] if catchup else no_catchup_runs(spec, fire, latest)
        for run in due:
            if run.logical_date not in runs:  # else: exists already
                runs[run.logical_date] = run
                ours.append(run.logical_date)
    return ours, expected


# ------------------------------------------------------------------ Airflow 3: no start_date

NO_START_FILE = Path(__file__).parent / "data" / "no_start_timetables.py"


@pytest.mark.skipif(airflow_major() == 2, reason="Airflow 2 requires a start_date")
def test_without_a_start_date_runs_are_laid_from_the_first_fire_as_airflow_lays_them_from_its_first_look() -> None:
    """Airflow lays an unstarted DAG's runs from its scheduler's first look; bridge from the
    CronJob's first fire. With that first look at that fire, a week of runs is the same."""
    for dag_id, dag in sorted(load_dags(NO_START_FILE).items()):
        spec = timetables.describe_schedule(dag)
        assert spec is not None and spec.cron and not spec.start_date, (dag_id, spec)
        schedule = fires(spec.cron, *WEEK)
        ticks = [schedule[0] + dt.timedelta(minutes=i) for i in range(int((WEEK[1] - schedule[0]).total_seconds() // 60) + 1)]
        expected = [i.logical_date for i in airflow_scheduler(spec, None, ticks)]
        assert len(expected) >= 2, dag_id
        runs: dict[dt.datetime, Any] = {}  # in the namespace, by logical date
        for fire in schedule:
            for run in runs_at_fire(spec, fire, max(runs, default=None)):
                runs.setdefault(run.logical_date, run)
        assert sorted(runs) == expected, dag_id


def test_run_immediately_gets_its_cron_line_and_says_what_differs(tmp_path: Path) -> None:
    if airflow_major() == 2:
        pytest.skip("Airflow 2's CronTriggerTimetable has no run_immediately")
    result = run_cli("split", str(NO_START_FILE), "--dag-id", "run_immediately", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "run_immediately without a start_date" in result.output and "no cronjob" not in result.output.lower()
    assert "schedule: 0 6 * * *" in (tmp_path / "out" / "cronjobs" / "run-immediately.yaml").read_text()


def test_partitioned_timetables_say_why_they_get_no_cronjob() -> None:
    """Airflow 3.2's asset partitioning (a partition key on every run and event) is not mapped: split
    says so by name, and a DAG partitioned at run time is, like schedule=None, not scheduled."""
    try:
        from airflow.sdk import Asset, CronPartitionTimetable, PartitionedAssetTimetable, PartitionedAtRuntime
    except ImportError:
        pytest.skip("Airflow before 3.2 has no partitioned timetables")
    from airflow.sdk import DAG

    schedules = {"cron_partitioned": CronPartitionTimetable("0 6 * * *", timezone="UTC"),
                 "asset_partitioned": PartitionedAssetTimetable(assets=Asset("s3://lake/p")),
                 "runtime_partitioned": PartitionedAtRuntime()}
    for dag_id, schedule in schedules.items():
        spec = timetables.describe_schedule(DAG(dag_id, schedule=schedule, start_date=dt.datetime(2024, 1, 1, tzinfo=UTC)))
        if dag_id == "runtime_partitioned":
            assert spec is None
            continue
        assert spec is not None and not spec.cron and "partition" in spec.reason, (dag_id, spec)
