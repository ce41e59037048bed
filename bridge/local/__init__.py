"""An Argo emulator: execute a Workflow YAML on this machine the way Argo v4.1.2 would.

It reads only the Workflow (and the ConfigMaps it names), never a DAG: no Airflow imports and
none of bridge's split/plan/emit layers. `bridge run` (bridge/run.py) splits first, then calls
`run_workflow`.
"""

from bridge.local.container import ContainerLauncher
from bridge.local.engine import run_workflow
from bridge.local.launcher import HostLauncher, Launcher, PodOutcome, PodSpec, map_path
from bridge.local.progress import ProgressPrinter, format_event, format_summary
from bridge.local.report import report
from bridge.local.result import Attempt, Event, NodeResult, RunResult
from bridge.local.spec import WorkflowError, load_config_maps, load_workflow

__all__ = [
    "Attempt",
    "ContainerLauncher",
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
    "load_config_maps",
    "load_workflow",
    "map_path",
    "report",
    "run_workflow",
]
