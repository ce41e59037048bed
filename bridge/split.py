"""`bridge split` end to end: load -> plan -> emit -> write."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from bridge.argo.versions import DEFAULT_VERSION, ArgoVersion, has_backoff_cap
from bridge.argo.versions import warnings as argo_warnings
from bridge.emit.cronjob import poll_note, schedule_problem
from bridge.emit.sync import sync_path
from bridge.emit.workflowtemplate import template_path
from bridge.errors import UnsupportedError
from bridge.model import NO_POD_SETTINGS, EmitOptions, Plan, PodSettings, Project, SourceDag
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
    # DAG task name -> Airflow task id: the Workflow names tasks only by the first (bridge run's report)
    task_ids: Mapping[str, str] = field(default_factory=dict)


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
    shared_pools: bool = False,
    emit: str = "workflow",
    pod: PodSettings = NO_POD_SETTINGS,
    argo_version: ArgoVersion | None = None,
) -> EmitOptions:
    """bridge split's target flags as the emitters take them (bridge backfill builds the same from the same flags)."""
    return EmitOptions(
        image=image or default_image(plan.workflow_name),
        namespace=namespace,
        gcp_key_secret=gcp_key_secret,
        schedule_kind=schedule,
        shared_pools=shared_pools,
        workflow_kind=emit,
        pod=pod,
        argo_version=argo_version or DEFAULT_VERSION,
    )


@dataclass(frozen=True)
class ProjectSplit:
    """What `bridge split` did for a DAG file or a dags folder."""

    dags: tuple[SplitResult, ...]  # by dag_id
    changed: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()  # broken files left out (--skip-broken), as located messages
    image: str = ""  # the one image every Workflow runs


def project_image(project: Project, plans: list[Plan], image: str | None) -> str:
    """--image, else bridge/<the DAG's name>:latest for one DAG of one file, else bridge/<project>:latest."""
    if image:
        return image
    if project.single_file and len(plans) == 1:
        return default_image(plans[0].workflow_name)
    return f"bridge/{project.name}:latest"


def render_files(project: Project, plans: list[Plan], options: EmitOptions) -> dict[str, bytes]:
    """All output files as bytes: emitted text plus the byte copies of the project's files."""
    from bridge.emit import emit_project

    files = {path: text.encode("utf-8") for path, text in emit_project(project, plans, options).items()}
    for target, source in project.files:
        with open(source, "rb") as handle:
            files[target] = handle.read()
    return files


def split_project(
    path: str,
    *,
    dags_folder: str | None = None,
    plugins_folder: str | None = None,
    dag_ids: tuple[str, ...] = (),
    skip_broken: bool = False,
    output: str = "build",
    image: str | None = None,
    namespace: str | None = None,
    force: bool = False,
    schedule: str = "cronjob",
    gcp_key_secret: str | None = None,
    pool_slots: Mapping[str, int] | None = None,
    emit: str = "workflow",
    one_dag: bool = False,
    pod: PodSettings = NO_POD_SETTINGS,
    argo_version: ArgoVersion | None = None,
) -> ProjectSplit:
    """Load a DAG file or a dags folder, plan and emit every DAG, write one output; all or nothing.

    `pool_slots` sets Airflow pools' slots (docs/SCHEDULES.md, "Concurrency"); the folders are
    docs/DESIGN.md's "Projects". `one_dag`: exactly one DAG must be chosen (bridge run). `pod`:
    the Kubernetes objects every pod reads (docs/DESIGN.md, "Secrets").
    """
    from bridge.airflow.project import load_project

    project = load_project(
        path, dags_folder=dags_folder, plugins_folder=plugins_folder, dag_ids=dag_ids, skip_broken=skip_broken,
        excluded=output, one_dag=one_dag,
    )
    plans = [build_plan(dag, pool_slots=pool_slots) for dag in project.dags]
    check_unique_names(plans)
    options = emit_options(
        plans[0], image=project_image(project, plans, image), namespace=namespace, gcp_key_secret=gcp_key_secret,
        schedule=schedule, shared_pools=len(plans) > 1, emit=emit, pod=pod, argo_version=argo_version,
    )
    files = render_files(project, plans, options)
    warnings: list[str] = [f"skipped (--skip-broken): {message}" for message in project.skipped]
    warnings += check_secrets(plans, files, options)
    warnings += argo_warnings(options.argo_version)
    owned = files_by_dag(plans, files)
    for plan in plans:
        warnings += check_rendered(plan, owned[plan.dag.dag_id], options.argo_version) + schedule_notes(plan, options) + plan.notes
        warnings += retry_cap_notes(plan, options.argo_version)
    changed = write_output(output, files, force=force)
    root = os.path.normpath(output)
    results = []
    for plan in plans:
        workflow = os.path.join(root, "workflows", f"{plan.workflow_name}.yaml")
        sync = os.path.join(root, sync_path(plan)) if sync_path(plan) in files else ""
        template = os.path.join(root, template_path(plan)) if template_path(plan) in files else ""
        task_ids = {task.name: task.task_id for task in plan.tasks}
        results.append(SplitResult(plan.dag.dag_id, len(plan.tasks), workflow, (), (), sync, template, task_ids))
    return ProjectSplit(tuple(results), tuple(changed), tuple(warnings), project.skipped, options.image)


def _own_paths(plan: Plan) -> tuple[str, ...]:
    """The paths of one DAG's own files but its task files (its Workflow, schedule, sync ConfigMaps, template)."""
    from bridge.emit.cronjob import cron_name

    return (
        f"workflows/{plan.workflow_name}.yaml", sync_path(plan), f"cronjobs/{cron_name(plan)}.yaml",
        f"cronworkflows/{cron_name(plan)}.yaml", template_path(plan),
    )


def files_by_dag(plans: list[Plan], files: dict[str, bytes]) -> dict[str, dict[str, bytes]]:
    """dag_id -> that DAG's own output files (task files under dags/<dag_id>/ and `_own_paths`), in one pass."""
    owner = {path: plan.dag.dag_id for plan in plans for path in _own_paths(plan)}
    owned: dict[str, dict[str, bytes]] = {plan.dag.dag_id: {} for plan in plans}
    for rel, data in files.items():
        dag_id = rel.split("/", 2)[1] if rel.startswith("dags/") else owner.get(rel)
        if dag_id in owned:
            owned[dag_id][rel] = data
    return owned


def check_unique_names(plans: list[Plan]) -> None:
    """Two DAGs whose Argo names collide (e.g. `etl_v1` and `etl-v1`) cannot share an output."""
    seen: dict[str, Plan] = {}
    for plan in plans:
        other = seen.get(plan.workflow_name)
        if other is not None:
            raise UnsupportedError(
                f"DAGs {other.dag.dag_id!r} ({other.dag.source_path}) and {plan.dag.dag_id!r} both become the Argo "
                f"name {plan.workflow_name!r}; rename one, or split them into different output folders",
                location=plan.dag.source_path,
            )
        seen[plan.workflow_name] = plan


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
    dags_folder: str | None = None,
    plugins_folder: str | None = None,
    emit: str = "workflow",
    pod: PodSettings = NO_POD_SETTINGS,
    argo_version: ArgoVersion | None = None,
) -> SplitResult:
    """Split one DAG (of a file or a dags folder; `dag_id` chooses when there are several) with its project's files."""
    done = split_project(
        dag_file, dags_folder=dags_folder, plugins_folder=plugins_folder, dag_ids=(dag_id,) if dag_id else (),
        output=output, image=image, namespace=namespace, force=force, schedule=schedule,
        gcp_key_secret=gcp_key_secret, pool_slots=pool_slots, emit=emit, one_dag=True, pod=pod,
        argo_version=argo_version,
    )
    return replace(done.dags[0], changed=done.changed, warnings=done.warnings)


def check_secrets(plans: list[Plan], files: dict[str, bytes], options: EmitOptions) -> tuple[str, ...]:
    """Refuse a secret value from the environment that a DAG (or a flag) put into a file bridge emits.

    The project's own files (sources/, plugins/, searchpath/) are copied as they are: only reported.
    """
    from bridge.lint.secrets import find_secrets, given_values

    given = [value for plan in plans for value in given_values(plan.dag, options)]
    reported = []
    for finding in find_secrets(files, given=given):
        if finding.file.split("/", 1)[0] in COPIED_FOLDERS:
            reported.append(f"{finding} (a file of your project, copied into the image as is)")
            continue
        owner = next((plan for plan in plans if finding.file in files_by_dag([plan], files)[plan.dag.dag_id]), plans[0])
        raise UnsupportedError(
            f"DAG {owner.dag.dag_id!r}: {finding.file} ({finding.path}) would hold a secret: {finding.message} "
            f"(value not shown); {finding.fix}. Nothing was written",
            location=owner.dag.source_path,
        )
    return tuple(reported)


COPIED_FOLDERS = ("sources", "plugins", "searchpath")


def check_rendered(plan: Plan, files: dict[str, bytes], argo_version: ArgoVersion | None = None) -> tuple[str, ...]:
    """Run `bridge lint` on the manifests before writing; refuse what Argo or Kubernetes would reject.

    A DAG too large for one object is the user's to split; any other finding is a bug in bridge.
    Secrets are `check_secrets`'.
    """
    from bridge.lint import LintError, lint_files

    location = plan.dag.source_path
    report = lint_files(files, argo_version)
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
    return tuple(str(finding) for finding in report.findings)


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


def retry_cap_notes(plan: Plan, argo: ArgoVersion) -> tuple[str, ...]:
    """Tasks whose max_retry_delay would cap a retry delay, on an Argo without backoff.cap (emitted without it)."""
    if has_backoff_cap(argo):
        return ()
    notes = []
    for spec in plan.templates:
        retry = spec.retry
        if retry is None or retry.cap_seconds is None or retry.factor is None:
            continue
        longest = retry.duration_seconds * retry.factor ** (retry.limit - 1)
        if longest > retry.cap_seconds:
            tasks = ", ".join(repr(t.task_id) for t in plan.tasks if t.template == spec.name)
            notes.append(
                f"DAG {plan.dag.dag_id!r}, task {tasks}: Argo {argo} has no retryStrategy.backoff.cap, so "
                f"max_retry_delay ({retry.cap_seconds}s) is not applied: the last retry waits {longest}s"
            )
    return tuple(notes)


def schedule_notes(plan: Plan, options: EmitOptions) -> tuple[str, ...]:
    """Why a scheduled DAG gets no CronJob (docs/SCHEDULES.md); nothing for unscheduled DAGs."""
    problem = schedule_problem(plan, options.schedule_kind)
    if options.schedule_kind == "none" or plan.dag.timetable is None:
        return ()
    if not problem:
        return (f"DAG {plan.dag.dag_id!r}: {poll_note(plan)}",) if poll_note(plan) else ()
    return (
        f"no {options.schedule_kind} for DAG {plan.dag.dag_id!r}: {problem}; start runs with "
        "`bridge submit --run-date` or `bridge backfill` instead (docs/SCHEDULES.md)",
    )
