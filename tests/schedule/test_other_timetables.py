"""Timetables no cron line expresses get a CronJob too: it fires on a line derived from Airflow's own
timetable, and at each fire `bridge submit` starts the run Airflow's scheduler would have started.
Over a simulated week of the CronJob's fires, the runs (logical date, data interval, run id) are
exactly those Airflow's scheduler creates in that week (docs/SCHEDULES.md, "Other timetables")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bridge.airflow import compat, timetables
from bridge.model import POLL
from bridge.schedule.runs import run_name
from bridge.schedule.submit import due_run
from tests.helpers import airflow_major, load_workflow, run_cli, split, validate_argo
from tests.schedule.test_timetables import airflow_runs

DAG_FILE = Path(__file__).parent / "data" / "other_timetables.py"
UTC = dt.timezone.utc
WEEK = (dt.datetime(2024, 3, 26, tzinfo=UTC), dt.datetime(2024, 4, 2, 23, 59, tzinfo=UTC))  # Paris DST on 03-31


@pytest.fixture(scope="module")
def dags() -> dict[str, Any]:
    compat.quiet_airflow()
    bag = compat.make_dagbag(str(DAG_FILE))
    assert not bag.import_errors, bag.import_errors
    return dict(bag.dags)


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
