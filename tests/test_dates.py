"""bridge.dates: the one run-date rule, and `bridge run --run-date` checked by it before any work."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bridge.dates import check_run_date, default_run_id, parse_run_date
from tests.helpers import ROOT, run_cli

UTC = timezone.utc  # noqa: UP017 (datetime.UTC needs Python 3.11; we support 3.9)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("20240102", datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01-02", datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01-02T06:30:00", datetime(2024, 1, 2, 6, 30, tzinfo=UTC)),
        ("2024-01-02T06:30:00Z", datetime(2024, 1, 2, 6, 30, tzinfo=UTC)),
        ("2024-01-02T06:30:00+02:00", datetime(2024, 1, 2, 4, 30, tzinfo=UTC)),
    ],
)
def test_run_dates(text: str, expected: datetime) -> None:
    parsed = parse_run_date(text)
    assert parsed == expected and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["2024-13-01", "yesterday", "2024010", ""])
def test_bad_run_dates_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="is not YYYYMMDD, YYYY-MM-DD or an ISO date-time"):
        parse_run_date(text)


def test_default_run_id_is_airflows_manual_form() -> None:
    assert default_run_id(parse_run_date("20240102")) == "manual__2024-01-02T00:00:00+00:00"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("20240102", "2024-01-02"),
        (" 2024-01-02 ", "2024-01-02"),
        ("2024-01-02T06:30:00+02:00", "2024-01-02T06:30:00+02:00"),  # the pod reads it by the same rule
    ],
)
def test_checked_run_date_keeps_the_spelling_except_the_compact_form(text: str, expected: str) -> None:
    assert check_run_date(text) == expected


@pytest.mark.parametrize("text", ["2024-13-45", "20241345", "tomorrow"])
def test_bridge_run_refuses_a_bad_run_date_before_any_work(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bridge.split

    def no_split(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("bridge run split the DAG despite a bad --run-date")

    work, scratch = tmp_path / "cwd", tmp_path / "tmp"
    work.mkdir()
    scratch.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where bridge run makes its folder
    monkeypatch.setattr(bridge.split, "split_dag", no_split)
    result = run_cli("run", str(ROOT / "examples" / "etl" / "etl.py"), "--run-date", text, "--report", "report.json")
    assert result.exit_code == 2, result.output
    assert "--run-date" in result.output and "is not YYYYMMDD, YYYY-MM-DD or an ISO date-time" in result.output
    assert os.listdir(work) == [] and os.listdir(scratch) == []


def test_bridge_submit_refuses_a_bad_run_date_as_a_usage_error(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    workflow = tmp_path / "wf.yaml"
    workflow.write_text("kind: Workflow\n")
    result = run_cli("submit", str(workflow), "--run-date", "2024-13-45", "--dry-run")
    assert result.exit_code == 2
    assert "Invalid value for --run-date" in result.output and "YYYYMMDD" in result.output
