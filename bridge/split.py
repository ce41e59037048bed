"""`bridge split` end to end: load -> plan -> emit -> write."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bridge.emit import emit_all
from bridge.emit.cronjob import schedule_problem
from bridge.emit.sync import sync_path
from bridge.emit.workflowtemplate import template_path
from bridge.errors import UnsupportedError
from bridge.model import EmitOptions, Plan, SourceDag
from bridge.plan import plan_workflow
from bridge.write import write_output


@dataclass(frozen=True)
class SplitResult:
    """What `bridge split` did, for the CLI to report."""

    dag_id: str
    task_count: int
    workflow_path: str
    changed: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    sync_path: str = ""  # the semaphore ConfigMaps to apply before the first run ("" when none)
    template_path: str = ""  # the WorkflowTemplate (--emit workflowtemplate), "" when none


def build_plan(dag: SourceDag, *, pool_slots: Mapping[str, int] | None = None) -> Plan:
    """Plan the Workflow for a loaded DAG (pure)."""
    if dag.dag_id in {".", ".."}:
        raise UnsupportedError(f"dag_id {dag.dag_id!r} cannot be a folder name; rename the DAG", location=dag.source_path)
    return plan_workflow(dag, pool_slots=pool_slots)


def default_image(workflow_name: str) -> str:
    """The image reference used when --image is not given."""
    return f"bridge/{workflow_name}:latest"


def emit_options(
    plan: Plan,
    *,
    image: str | None = None,
    namespace: str | None = None,
    gcp_key_secret: str | None = None,
    schedule: str = "cronjob",
    emit: str = "workflow",
) -> EmitOptions:
    """bridge split's target flags as the emitters take them (bridge backfill builds the same from the same flags)."""
    return EmitOptions(
        image=image or default_image(plan.workflow_name),
        namespace=namespace,
        gcp_key_secret=gcp_key_secret,
        schedule_kind=schedule,
        workflow_kind=emit,
    )


def render_files(plan: Plan, options: EmitOptions) -> dict[str, bytes]:
    """All output files as bytes: emitted text plus the byte copy of the DAG source."""
    files = {path: text.encode("utf-8") for path, text in emit_all(plan, options).items()}
    with open(plan.dag.source_path, "rb") as handle:
        files[plan.source_file] = handle.read()
    folder = os.path.dirname(plan.dag.source_path)
    target = os.path.dirname(plan.source_file)
    for rel in plan.dag.support_files:
        with open(os.path.join(folder, rel), "rb") as handle:
            files[f"{target}/{rel}"] = handle.read()
    return files


def split_dag(
    dag_file: str,
    *,
    dag_id: str | None = None,
    output: str = "build",
    image: str | None = None,
    namespace: str | None = None,
    force: bool = False,
    schedule: str = "cronjob",
    gcp_key_secret: str | None = None,
    pool_slots: Mapping[str, int] | None = None,
    emit: str = "workflow",
) -> SplitResult:
    """Load, plan, emit and write; nothing is written unless everything succeeded.

    `pool_slots` sets Airflow pools' slots (docs/SCHEDULES.md, "Concurrency").
    """
    from bridge.airflow.loader import load_dag

    dag = load_dag(dag_file, dag_id)
    plan = build_plan(dag, pool_slots=pool_slots)
    options = emit_options(plan, image=image, namespace=namespace, gcp_key_secret=gcp_key_secret, schedule=schedule, emit=emit)
    files = render_files(plan, options)
    warnings = check_rendered(plan, files, options) + schedule_notes(plan, options) + plan.notes
    changed = write_output(output, files, force=force)
    root = os.path.normpath(output)
    workflow = os.path.join(root, "workflows", f"{plan.workflow_name}.yaml")
    sync = os.path.join(root, sync_path(plan)) if plan.semaphore_limits else ""
    template = os.path.join(root, template_path(plan)) if emit == "workflowtemplate" else ""
    return SplitResult(dag.dag_id, len(plan.tasks), workflow, tuple(changed), warnings, sync, template)


def check_rendered(plan: Plan, files: dict[str, bytes], options: EmitOptions | None = None) -> tuple[str, ...]:
    """Run `bridge lint` on the manifests before writing; refuse what Argo or Kubernetes would reject.

    A DAG too large for one object is the user's to split; any other finding is a bug in bridge.
    Secrets: a secret value from the environment that the DAG (or a flag) put into a value bridge
    emits is refused; the DAG file's own copy under sources/ is only reported.
    """
    from bridge.lint import LintError, lint_files
    from bridge.lint.secrets import find_secrets, given_values

    location = plan.dag.source_path
    secrets = find_secrets(files, given=given_values(plan.dag, options))
    for finding in secrets:
        if not finding.file.startswith("sources/"):
            raise UnsupportedError(
                f"DAG {plan.dag.dag_id!r}: {finding.file} ({finding.path}) would hold a secret: {finding.message} "
                f"(value not shown); {finding.fix}. Nothing was written",
                location=location,
            )
    report = lint_files(files)
    errors = report.errors()
    for finding in errors:
        if finding.rule == "object-size":
            raise UnsupportedError(
                f"DAG {plan.dag.dag_id!r} ({len(plan.tasks)} tasks) gives {finding.file}: {finding.message}; "
                f"{size_breakdown(plan, files)}; split it into several DAGs (e.g. one per task group), shorten long "
                "task ids, or route wide group-to-group dependencies through one EmptyOperator",
                location=location,
            )
        if finding.rule == "configmap-size":
            raise UnsupportedError(
                f"DAG {plan.dag.dag_id!r} ({len(plan.tasks)} tasks) gives {finding.file}: {finding.path}: "
                f"{finding.message}; {finding.fix}. Nothing was written",
                location=location,
            )
    if errors:
        more = f" (and {len(errors) - 1} more; run bridge lint on a copy of the output)" if len(errors) > 1 else ""
        raise LintError(
            f"bridge produced a manifest that Argo or Kubernetes would reject, so nothing was written: "
            f"{errors[0]}{more}; this is a bug in bridge, please report it with the DAG file",
            location=location,
        )
    copied = [f"{f} (your DAG file, copied into the image as is)" for f in secrets]
    return tuple(str(finding) for finding in report.findings) + tuple(copied)


def size_breakdown(plan: Plan, files: Mapping[str, bytes]) -> str:
    """Where a too-large Workflow's bytes go: the average DAG task and the largest one, as Argo stores them."""
    import yaml

    from bridge.lint.rules import stored_size

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    workflow = yaml.load(files[f"workflows/{plan.workflow_name}.yaml"], Loader=loader)
    main = workflow["spec"]["templates"][0]["dag"]["tasks"]
    sizes = {entry["name"]: stored_size(entry) for entry in main}
    largest = max(plan.tasks, key=lambda task: sizes[task.name])
    return (
        f"its DAG tasks take {sum(sizes.values())} bytes, {sum(sizes.values()) // max(len(plan.tasks), 1)} per task "
        f"on average; the largest is task {largest.task_id!r} with {sizes[largest.name]} bytes "
        f"({len(largest.upstream_names)} upstreams, each named in its depends, when and XCom input)"
    )


def schedule_notes(plan: Plan, options: EmitOptions) -> tuple[str, ...]:
    """Why a scheduled DAG gets no CronJob (docs/SCHEDULES.md); nothing for unscheduled DAGs."""
    problem = schedule_problem(plan)
    if options.schedule_kind == "none" or plan.dag.timetable is None or not problem:
        return ()
    return (
        f"no {options.schedule_kind} for DAG {plan.dag.dag_id!r}: {problem}; start runs with "
        "`bridge submit --run-date` or `bridge backfill` instead (docs/SCHEDULES.md)",
    )
