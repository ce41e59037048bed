"""`bridge run`: execute an emitted Argo Workflow on this machine the way Argo would (no Airflow imports)."""

from bridge.local.engine import Attempt, Event, NodeResult, RunResult, run_workflow
from bridge.local.launcher import HostLauncher, Launcher, PodOutcome, PodSpec, map_path
from bridge.local.progress import ProgressPrinter, format_event, format_summary
from bridge.local.report import report
from bridge.local.spec import WorkflowError, load_workflow

__all__ = [
    "Attempt",
    "Event",
    "HostLauncher",
    "Launcher",
    "NodeResult",
    "PodOutcome",
    "PodSpec",
    "ProgressPrinter",
    "RunResult",
    "WorkflowError",
    "format_event",
    "format_summary",
    "load_workflow",
    "map_path",
    "report",
    "run_workflow",
]
