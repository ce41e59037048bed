"""`bridge backfill`: the logical dates Airflow's backfill would run, as commands, local runs or Workflows."""

from __future__ import annotations

import copy
import shlex
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from bridge.errors import ScheduleError
from bridge.model import ScheduleSpec
from bridge.schedule.runs import Run, run_id, run_name, workflow_for_run

UTC = timezone.utc  # noqa: UP017  (Python 3.9)


@dataclass(frozen=True)
class Backfill:
    """A DAG's workflow and the runs to start for a date range."""

    dag_id: str
    workflow_file: str  # relative to bridge split's output folder
    workflow: dict[str, Any]
    runs: tuple[Run, ...]


def backfill_runs(spec: ScheduleSpec | None, start: datetime, end: datetime, *, now: datetime | None = None) -> tuple[Run, ...]:
    """Airflow's backfill dates for [start, end] on the installed line, by the DAG's own timetable."""
    from bridge.airflow import timetables

    if spec is None:
        raise ScheduleError("the DAG has no schedule, so a backfill has no dates; use bridge submit --run-date")
    if end < start:
        raise ScheduleError(f"--end {end.isoformat()} is before --start {start.isoformat()}")
    try:
        infos = timetables.runs_between(spec, start, end)
    except ValueError as exc:
        raise ScheduleError(str(exc)) from None
    if timetables.backfill_needs_past_intervals():  # Airflow 3 backfills only intervals that have ended
        cutoff = now or datetime.now(UTC)
        infos = [info for info in infos if info.data_interval is not None and info.data_interval.end < cutoff]
    runs = []
    for info in infos:
        logical = info.logical_date.astimezone(UTC)
        runs.append(Run(logical_date=logical, run_id=run_id("backfill", logical)))
    return tuple(runs)


def prepare_backfill(dag_file: str, dag_id: str | None, start: datetime, end: datetime) -> Backfill:
    """Load the DAG (as bridge split does), build its Workflow and list the backfill's runs."""
    from bridge.airflow.loader import load_dag
    from bridge.emit.argo import build_workflow
    from bridge.split import build_plan

    dag = load_dag(dag_file, dag_id)
    plan = build_plan(dag, image=None, namespace=None)
    runs = backfill_runs(dag.timetable, start, end)
    return Backfill(dag.dag_id, f"workflows/{plan.workflow_name}.yaml", build_workflow(plan), runs)


def argo_commands(backfill: Backfill) -> list[str]:
    """One `argo submit` line per run, with the deterministic name (a repeated line is refused by Argo)."""
    lines = []
    for run in backfill.runs:
        words = [
            "argo", "submit", backfill.workflow_file,
            "--name", run_name(backfill.dag_id, run.logical_date),
            "-p", f"run-date={run.logical_date.isoformat()}",
            "-p", f"run-id={run.run_id}",
        ]  # fmt: skip
        lines.append(" ".join(shlex.quote(word) for word in words))
    return lines


def submit_all(
    backfill: Backfill,
    api: Any,
    namespace: str,
    max_active: int,
    *,
    poll_seconds: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[tuple[str, bool]]:
    """Create each run's Workflow, keeping at most `max_active` of this DAG's Workflows unfinished."""
    from bridge.schedule.submit import count_active, create_workflow

    label = backfill.workflow["metadata"]["labels"]["bridge.dev/dag"]
    done = []
    for run in backfill.runs:
        while count_active(api, namespace, label) >= max_active:
            sleep(poll_seconds)
        result = create_workflow(api, workflow_for_run(backfill.workflow, run, namespace), namespace)
        print(f"bridge: {'created' if result.created else 'exists, not started again'}: {result.name}", file=sys.stderr)
        done.append((result.name, result.created))
    return done


def run_locally(dag_file: str, dag_id: str | None, backfill: Backfill) -> list[tuple[str, bool]]:
    """Run each date with `bridge run`, one after another (in order, as Airflow's backfill does)."""
    from bridge.run import run_dag

    results = []
    for run in backfill.runs:
        outcome = run_dag(dag_file, run_date=run.logical_date.isoformat(), dag_id=dag_id, parameters={"run-id": run.run_id})
        results.append((run.logical_date.isoformat(), bool(outcome.succeeded)))
    return results


# ------------------------------------------------------------------ one Workflow for the whole range


def _use_inputs(value: Any) -> Any:
    if isinstance(value, str):
        for name in ("run-date", "run-id"):
            value = value.replace(f"{{{{workflow.parameters.{name}}}}}", f"{{{{inputs.parameters.{name}}}}}")
        return value
    if isinstance(value, list):
        return [_use_inputs(item) for item in value]
    if isinstance(value, dict):
        return {key: _use_inputs(item) for key, item in value.items()}
    return value


def backfill_workflow(backfill: Backfill, parallelism: int) -> dict[str, Any]:
    """One Workflow that runs the DAG for every date, at most `parallelism` dates at once.

    The DAG template and the task templates take run-date/run-id as inputs instead of workflow
    parameters; a steps template fans out over the dates. The DAG's run lock (max_active_runs,
    depends_on_past) moves from the Workflow to the DAG template: each date holds it as one run.
    """
    workflow = copy.deepcopy(backfill.workflow)
    spec = workflow["spec"]
    run_lock = spec.pop("synchronization", None)
    passed = [{"name": name, "value": f"{{{{inputs.parameters.{name}}}}}"} for name in ("run-date", "run-id")]
    containers = {template["name"] for template in spec["templates"] if "container" in template}
    templates = []
    for template in spec["templates"]:
        template = _use_inputs(template)
        if "dag" in template:
            template["inputs"] = {"parameters": [{"name": "run-date"}, {"name": "run-id"}]}
            if run_lock:
                template["synchronization"] = run_lock
            for task in template["dag"]["tasks"]:
                if task.get("template") in containers:  # not the verdict node (no pod, no inputs)
                    arguments = task.setdefault("arguments", {})
                    arguments["parameters"] = [*arguments.get("parameters", []), *passed]
        elif "container" in template:
            inputs = template.setdefault("inputs", {})
            inputs["parameters"] = [*inputs.get("parameters", []), {"name": "run-date"}, {"name": "run-id"}]
        templates.append(template)
    items = [{"run-date": run.logical_date.isoformat(), "run-id": run.run_id} for run in backfill.runs]
    fan_out = {
        "name": "backfill",
        "parallelism": parallelism,
        "steps": [
            [
                {
                    "name": "run",
                    "template": spec["entrypoint"],
                    "arguments": {
                        "parameters": [
                            {"name": "run-date", "value": "{{item.run-date}}"},
                            {"name": "run-id", "value": "{{item.run-id}}"},
                        ]
                    },
                    "withItems": items,
                }
            ]
        ],
    }
    spec["templates"] = [fan_out, *templates]
    spec["entrypoint"] = "backfill"
    spec["arguments"]["parameters"] = [p for p in spec["arguments"]["parameters"] if p["name"] not in ("run-date", "run-id")]
    if not spec["arguments"]["parameters"]:
        del spec["arguments"]
    workflow["metadata"]["generateName"] = workflow["metadata"]["generateName"][:-1][:48] + "-backfill-"
    return workflow
