"""A custom timetable from the project's plugins folder gets a CronJob like Airflow's own
non-cron timetables: it fires on a poll line derived from the timetable, and at each fire
`bridge submit` imports the timetable (from the split output's plugins/, or the image's
/opt/bridge/plugins) and starts the run Airflow's scheduler would have started. Over a simulated
week of fires, the runs equal those Airflow's scheduler creates from the same plugin timetable
(docs/SCHEDULES.md, "Other timetables")."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.airflow import compat, timetables
from bridge.model import POLL
from bridge.names import run_name
from bridge.schedule.submit import due_run
from tests.helpers import run_cli, split
from tests.schedule.test_other_timetables import WEEK, fires
from tests.schedule.test_timetables import airflow_runs

PROJECT = Path(__file__).parent / "data" / "plugin_project"


@pytest.fixture(scope="module")
def dag() -> Any:
    compat.quiet_airflow()
    compat.use_plugins_folder(str(PROJECT / "plugins"))
    bag = compat.make_dagbag(str(PROJECT / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags["weekday_report"]


def test_a_plugin_timetable_is_polled_and_its_week_of_runs_matches_airflow(dag: Any) -> None:
    spec = timetables.describe_schedule(dag)
    assert spec is not None and spec.timetable == "workdays.WeekdayTimetable" and spec.semantics == POLL
    assert spec.cron == "30 0 * * *"  # every run is due at 00:30 UTC
    expected = {
        (info.logical_date, info.data_interval.start, info.data_interval.end)
        for info in airflow_runs(dag, *WEEK) if WEEK[0] <= info.run_after <= WEEK[1]
    }
    assert len(expected) == 6  # the weekdays 03-25 to 03-29 and 04-01 (due the next day at 00:30): no weekend day
    created: dict[str, tuple[Any, ...]] = {}
    for fire in fires(spec.cron, *WEEK):
        run = due_run(spec, fire)
        assert run is not None
        info = timetables.run_due_at(spec, fire)
        created.setdefault(run_name(dag.dag_id, run.logical_date), (info.logical_date, info.data_interval.start, info.data_interval.end))
    # The weekend's fires find Friday's run again: its name exists, nothing is created twice.
    assert set(created.values()) == expected and len(created) == len(expected)


def test_submit_in_a_fresh_process_imports_the_timetable_from_the_split_output(tmp_path: Path) -> None:
    out = split(PROJECT / "dags", tmp_path / "out")
    assert (out / "plugins" / "workdays.py").exists() and (out / "cronjobs" / "weekday-report.yaml").exists()
    assert "COPY plugins/ /opt/bridge/plugins/" in (out / "images" / "Dockerfile").read_text()
    lint = run_cli("lint", "--strict", str(out))
    assert lint.exit_code == 0, lint.output
    bridge = str(Path(sys.executable).with_name("bridge"))
    names = []
    for fire in ("2024-03-26T00:31:00Z", "2024-03-30T00:31:00Z", "2024-03-31T00:31:00Z"):  # Tuesday, Saturday, Sunday
        done = subprocess.run([bridge, "submit", str(out / "workflows" / "weekday-report.yaml"), "--scheduled-time", fire, "--dry-run"],
                              capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        names += [line.split(":", 1)[1].strip() for line in done.stdout.splitlines() if line.startswith("  name: weekday-report-")]
    # Monday's run on Tuesday; Friday's on Saturday, and again (the same name) on Sunday.
    assert names == ["weekday-report-20240325000000", "weekday-report-20240329000000", "weekday-report-20240329000000"]
    # Without the plugins folder the timetable cannot be imported: a clear error, no Workflow.
    (out / "plugins" / "workdays.py").unlink()
    done = subprocess.run([bridge, "submit", str(out / "workflows" / "weekday-report.yaml"), "--scheduled-time",
                           "2024-03-26T00:31:00Z", "--dry-run"], capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "bridge: error: cannot import the timetable workdays.WeekdayTimetable" in done.stderr, done.stderr


def test_backfill_dates_of_a_plugin_timetable_match_airflow(dag: Any) -> None:
    from bridge.schedule.backfill import backfill_runs
    from tests.schedule.test_timetables import airflow_backfill

    start, end = dt.datetime(2024, 3, 22, tzinfo=dt.timezone.utc), dt.datetime(2024, 3, 27, tzinfo=dt.timezone.utc)
    spec = timetables.describe_schedule(dag)
    ours = [run.logical_date for run in backfill_runs(spec, start, end)]
    assert ours == airflow_backfill(dag, start, end) and len(ours) >= 3  # Friday, Monday, Tuesday (no weekend)
