"""`bridge backfill`: the logical dates Airflow's backfill would run, as commands, local runs or Workflows."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from bridge.argo.versions import ArgoVersion
from bridge.dates import run_id
from bridge.errors import ScheduleError
from bridge.model import NO_POD_SETTINGS, EmitOptions, Plan, PodSettings, ScheduleSpec
from bridge.names import run_name
from bridge.schedule.runs import Run, workflow_for_run

UTC = timezone.utc  # noqa: UP017  (Python 3.9)


@dataclass(frozen=True)
class Backfill:
    """A DAG's workflow and the runs to start for a date range."""

    dag_id: str
    workflow_file: str  # relative to bridge split's output folder
    workflow: dict[str, Any]  # the Workflow bridge split writes with the same options
    runs: tuple[Run, ...]
    plan: Plan
    options: EmitOptions
    template: str = ""  # the WorkflowTemplate the runs reference (--emit workflowtemplate), "" when none


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


def prepare_backfill(
    dag_file: str,
    dag_id: str | None,
    start: datetime,
    end: datetime,
    *,
    image: str | None = None,
    namespace: str | None = None,
    gcp_key_secret: str | None = None,
    pool_slots: Mapping[str, int] | None = None,
    dags_folder: str | None = None,
    plugins_folder: str | None = None,
    emit: str = "workflow",
    pod: PodSettings = NO_POD_SETTINGS,
    argo_version: ArgoVersion | None = None,
) -> Backfill:
    """Load the DAG and plan its Workflow as bridge split does with the same options; list the backfill's runs.

    With emit="workflowtemplate" the runs reference the WorkflowTemplate bridge split wrote (as the
    CronJob's do); `--workflow-out` still writes one whole Workflow (a fan-out over the dates).
    """
    from bridge.airflow.project import load_project
    from bridge.emit.argo import build_template_ref_workflow, build_workflow
    from bridge.split import build_plan, emit_options, project_image

    project = load_project(
        dag_file, dags_folder=dags_folder, plugins_folder=plugins_folder, dag_ids=(dag_id,) if dag_id else (),
        one_dag=True,
    )
    dag = project.dags[0]
    plan = build_plan(dag, pool_slots=pool_slots)
    options = emit_options(
        plan, image=project_image(project, [plan], image), namespace=namespace, gcp_key_secret=gcp_key_secret, emit=emit,
        pod=pod, argo_version=argo_version,
    )
    runs = backfill_runs(dag.timetable, start, end)
    if emit == "workflowtemplate":
        workflow = build_template_ref_workflow(plan, options)
        template = plan.workflow_name
    else:
        workflow, template = build_workflow(plan, options), ""
    return Backfill(dag.dag_id, f"workflows/{plan.workflow_name}.yaml", workflow, runs, plan, options, template)


def argo_commands(backfill: Backfill) -> list[str]:
    """One `argo submit` line per run, with the deterministic name (a repeated line is refused by Argo)."""
    lines = []
    source = ["--from", f"workflowtemplate/{backfill.template}"] if backfill.template else [backfill.workflow_file]
    for run in backfill.runs:
        words = [
            "argo", "submit", *source,
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


def run_locally(
    dag_file: str,
    backfill: Backfill,
    *,
    pool_slots: Mapping[str, int] | None = None,
    dags_folder: str | None = None,
    plugins_folder: str | None = None,
    pod: PodSettings = NO_POD_SETTINGS,
) -> list[tuple[str, bool]]:
    """Run each date with `bridge run`, one after another (in order, as Airflow's backfill does)."""
    from bridge.run import run_dag

    results = []
    for run in backfill.runs:
        outcome = run_dag(
            dag_file, run_date=run.logical_date.isoformat(), dag_id=backfill.dag_id, parameters={"run-id": run.run_id},
            pool_slots=pool_slots, dags_folder=dags_folder, plugins_folder=plugins_folder, pod=pod,
            argo_version=backfill.options.argo_version,
        )
        results.append((run.logical_date.isoformat(), bool(outcome.succeeded)))
    return results


# ------------------------------------------------------------------ one Workflow for the whole range


def backfill_workflow(backfill: Backfill, parallelism: int) -> dict[str, Any]:
    """One Workflow that runs the DAG for every date, at most `parallelism` dates at once.

    The DAG template and the task templates take run-date/run-id as inputs instead of workflow
    parameters; a steps template fans out over the dates. The DAG's run lock (max_active_runs,
    depends_on_past) moves from the Workflow to the DAG template: each date holds it as one run.
    """
    from bridge.emit.argo import TEMPLATE_INPUTS, build_workflow

    workflow = build_workflow(backfill.plan, backfill.options, TEMPLATE_INPUTS)
    spec = workflow["spec"]
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
    spec["templates"] = [fan_out, *spec["templates"]]
    spec["entrypoint"] = "backfill"
    workflow["metadata"]["generateName"] = f"{backfill.plan.workflow_name[:48]}-backfill-"
    return workflow
