"""Fixtures for the local engine: a runner that records events and keeps retries fast."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from bridge.local import Event, RunResult, run_workflow


class Recorder:
    """Collects events; `kinds(task)` lists what happened to one task."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self, task: str) -> list[str]:
        return [e.kind for e in self.events if e.task == task]


@pytest.fixture
def run(tmp_path: Path) -> Callable[..., tuple[RunResult, Recorder]]:
    """Run a Workflow dict with logs under tmp_path; returns (result, recorded events)."""

    def go(workflow: dict[str, Any], **options: Any) -> tuple[RunResult, Recorder]:
        recorder = Recorder()
        options.setdefault("retry_delay_scale", 0.0)
        options.setdefault("grace_seconds", 1.0)
        result = run_workflow(
            workflow, split_dir=str(tmp_path / "split"), log_dir=str(tmp_path / "logs"), on_event=recorder, **options
        )
        return result, recorder

    return go
