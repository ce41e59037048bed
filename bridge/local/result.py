"""What a run produced: its nodes, their attempts, the run's phase, and the progress events. Plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable


def rfc3339(stamp: float) -> str:
    """A wall-clock time as Argo prints it (UTC, seconds)."""
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Attempt:
    """One pod of a node (Argo's retry children `task(0)`, `task(1)` …)."""

    number: int  # 1-based
    phase: str
    message: str
    exit_code: int | None
    started_at: float
    finished_at: float


@dataclass
class NodeResult:
    """A DAG task's node: phase, attempts, output parameters, log."""

    task: str  # the node: the DAG task, `task(i:item)` for a loop's child, `<node>.<task>` in a DAG a task ran
    template: str
    # Pod, Suspend, DAG (a DAG or steps template it ran), TaskGroup (a loop: withItems, withParam),
    # Skipped (no pod: Omitted, Skipped, or an Error before any pod)
    kind: str
    phase: str = "Pending"
    message: str = ""
    arguments: dict[str, str | None] = field(default_factory=dict)  # resolved argument parameters
    # The template's input parameters as far as known without other tasks' outputs: the argument
    # (raw until resolved), else the default with {{tasks.name}} substituted; set even for no pod.
    inputs: dict[str, str | None] = field(default_factory=dict)
    outputs: dict[str, str | None] | None = None  # output parameters of the last attempt
    exit_code: int | None = None
    attempts: list[Attempt] = field(default_factory=list)
    log_path: str | None = None
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from the first attempt's start to the node's end (None without a pod)."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass
class RunResult:
    """The outcome of one run: the workflow phase and every created node, in DAG order."""

    workflow_name: str
    phase: str  # Succeeded, Failed, Error
    message: str
    nodes: dict[str, NodeResult]
    parameters: dict[str, str]
    started_at: float
    finished_at: float
    log_dir: str
    interrupted: bool = False

    @property
    def duration(self) -> float:
        """Wall-clock seconds of the whole run."""
        return self.finished_at - self.started_at


@dataclass(frozen=True)
class Event:
    """One progress event; `kind` is run-started, waiting (for a synchronization lock), started,
    succeeded, failed, errored, skipped, omitted, retrying or run-finished."""

    kind: str
    task: str  # the node: the DAG task, `task(i:item)` for a loop's child, `<node>.<task>` in a DAG a task ran
    time: float
    elapsed: float
    attempt: int = 0
    message: str = ""
    exit_code: int | None = None
    log_path: str | None = None
    delay: float | None = None  # retrying: the real wait in seconds
    nominal_delay: float | None = None  # retrying: what Argo would wait
    node: NodeResult | None = None
    result: RunResult | None = None


EventHandler = Callable[[Event], None]
