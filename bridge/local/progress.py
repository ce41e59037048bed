"""Terminal output for `bridge run`: one line per event as it happens, then a summary table."""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import TextIO

from bridge.local.report import airflow_state, airflow_task_id, is_task_node
from bridge.local.result import Event, NodeResult, RunResult

TAIL_LINES = 10


def log_tail(path: str | None, lines: int = TAIL_LINES) -> list[str]:
    """The last `lines` lines of a log file ([] when there is none)."""
    if not path:
        return []
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return [line.rstrip("\n") for line in deque(handle, maxlen=lines)]
    except OSError:
        return []


def _clock(stamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(stamp))


def _seconds(value: float) -> str:
    return f"{value:.0f}s" if value >= 10 else f"{value:.1f}s"


def format_event(event: Event, tail_lines: int = TAIL_LINES) -> str:
    """The line(s) one event prints."""
    head = f"{_clock(event.time)} +{event.elapsed:6.1f}s "
    attempt = f" (attempt {event.attempt})" if event.attempt > 1 else ""
    if event.kind == "run-started":
        return f"{head}run started"
    if event.kind == "run-finished":
        result = event.result
        phase = result.phase if result else "?"
        suffix = f": {event.message}" if event.message else ""
        return f"{head}run {phase.lower()}{suffix}"
    if event.kind == "waiting":
        return f"{head}{event.task}: {event.message}"
    if event.kind == "started":
        log = f"  log: {event.log_path}" if event.log_path else ""  # a DAG or a loop has no log of its own
        return f"{head}{event.task}: started{attempt}{log}"
    if event.kind == "succeeded":
        node = event.node
        state = airflow_state(node) if node is not None else "success"
        took = f" in {_seconds(node.duration)}" if node is not None and node.duration is not None else ""
        label = "succeeded" if state == "success" else f"succeeded (task {state})"
        return f"{head}{event.task}: {label}{took}{attempt}"
    if event.kind in ("failed", "errored"):
        code = f", exit code {event.exit_code}" if event.exit_code is not None else ""
        lines = [f"{head}{event.task}: {event.kind}{attempt}{code}: {event.message}"]
        tail = log_tail(event.log_path, tail_lines)
        if tail:
            lines.append(f"    last lines of {event.log_path}:")
            lines.extend(f"    | {line}" for line in tail)
        return "\n".join(lines)
    if event.kind == "retrying":
        nominal = ""
        if event.nominal_delay is not None and event.delay is not None and abs(event.nominal_delay - event.delay) > 1e-9:
            nominal = f" (Argo: {_seconds(event.nominal_delay)})"
        code = f" (exit code {event.exit_code})" if event.exit_code is not None else ""
        return f"{head}{event.task}: attempt {event.attempt} failed{code}; retrying in {_seconds(event.delay or 0.0)}{nominal}"
    if event.kind == "skipped":
        return f"{head}{event.task}: skipped ({event.message})"
    if event.kind == "omitted":
        return f"{head}{event.task}: omitted (upstream_failed: depends not met)"
    return f"{head}{event.task}: {event.kind} {event.message}".rstrip()


class ProgressPrinter:
    """An `on_event` handler that prints each event to a stream as it happens."""

    def __init__(self, stream: TextIO | None = None, tail_lines: int = TAIL_LINES) -> None:
        self.stream = stream or sys.stderr
        self.tail_lines = tail_lines
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        """Print one event."""
        with self._lock:
            print(format_event(event, self.tail_lines), file=self.stream, flush=True)


def _node_state(node: NodeResult, task_ids: Mapping[str, str] | None) -> str:
    if not is_task_node(node, task_ids) or airflow_task_id(node, task_ids) is None:
        return node.phase
    return airflow_state(node)


def format_summary(result: RunResult, task_ids: Mapping[str, str] | None = None) -> str:
    """A table: task (the Airflow id: `task_ids` maps the DAG's task names, see report.airflow_task_id),
    Airflow-style state, attempts, duration; then the workflow phase."""
    rows = [("TASK", "STATE", "ATTEMPTS", "DURATION", "ARGO PHASE")]
    for node in result.nodes.values():
        duration = _seconds(node.duration) if node.duration is not None else "-"
        task = airflow_task_id(node, task_ids) or node.task
        rows.append((task, _node_state(node, task_ids), str(len(node.attempts)), duration, node.phase))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    stopped = f" ({result.message})" if result.interrupted else ""  # Ctrl-C or a stop signal: which one
    lines.append(f"workflow {result.workflow_name}: {result.phase}{stopped} in {_seconds(result.duration)}; logs in {result.log_dir}")
    return "\n".join(lines)
