"""SourceDag -> Plan: names, dependencies, shared templates. Pure: no Airflow, no files."""

from __future__ import annotations

import hashlib
import json
import os
import re

from bridge import names, semantics
from bridge.errors import UnsupportedError
from bridge.model import Plan, PlannedTask, RetryPolicy, SourceDag, SourceTask, TemplateSpec

VERDICT = "airflow-dagrun"
RESERVED_PARAMETERS = frozenset({"run-date", "run-id"})
_PARAMETER_NAME = re.compile(r"^[-a-zA-Z0-9_]+$")
_CONN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")  # Airflow's own rule for connection ids
_URI_PASSWORD = re.compile(r"(://[^/\s:@]*):[^@\s/]*@")
_DEFAULT_POOL = "default_pool"
_DEFAULT_QUEUES = frozenset({"", "default"})
BASE_TEMPLATE = "task"
MAPPED_TEMPLATE = "task-mapped"


def default_image(workflow_name: str) -> str:
    """The image reference used when --image is not given."""
    return f"bridge/{workflow_name}:latest"


def retry_policy(task: SourceTask) -> RetryPolicy | None:
    """Airflow's retry settings as an Argo retryStrategy (None when the task never retries)."""
    if task.retries <= 0:
        return None
    cap = task.max_retry_delay_seconds
    return RetryPolicy(
        limit=task.retries,
        duration_seconds=max(0, round(task.retry_delay_seconds)),
        factor=2 if task.retry_exponential_backoff else None,
        cap_seconds=round(cap) if cap is not None and task.retry_exponential_backoff else None,
    )


def deadline_seconds(task: SourceTask, grace_seconds: int) -> int | None:
    """A pod deadline backing up Airflow's own execution_timeout (enforced in the pod)."""
    if task.execution_timeout_seconds is None:
        return None
    return int(task.execution_timeout_seconds) + grace_seconds


def _template_key(spec: TemplateSpec) -> str:
    retry = spec.retry
    data = {
        "retry": None if retry is None else [retry.limit, retry.duration_seconds, retry.factor, retry.cap_seconds],
        "deadline": spec.deadline_seconds,
        "conns": list(spec.conn_ids),
    }
    if spec.mapped:
        data["mapped"] = True
    return json.dumps(data, sort_keys=True)


def _template_name(spec: TemplateSpec) -> str:
    if spec.retry is None and spec.deadline_seconds is None and not spec.conn_ids:
        return MAPPED_TEMPLATE if spec.mapped else BASE_TEMPLATE
    digest = hashlib.sha256(_template_key(spec).encode()).hexdigest()[:8]
    return f"{BASE_TEMPLATE}-{digest}"


def check_supported(dag: SourceDag) -> None:
    """Refuse, with the task and the reason, what this version cannot run faithfully."""
    location = dag.source_path
    if not dag.tasks:
        raise UnsupportedError(
            f"DAG {dag.dag_id!r} has no tasks; an Argo DAG needs at least one task", location=location
        )
    for task in dag.tasks:
        if task.trigger_rule not in semantics.TRIGGER_RULES:
            raise UnsupportedError(
                f"task {task.task_id!r} uses trigger_rule={task.trigger_rule!r}, which bridge does not know; "
                f"use one of Airflow's rules ({', '.join(semantics.TRIGGER_RULES)})",
                location=location,
            )
        if task.skip_kind == "other":
            raise UnsupportedError(
                f"task {task.task_id!r} ({task.operator}) skips other tasks itself (SkipMixin), which bridge "
                "cannot carry across pods; use a branch operator (@task.branch) or a short-circuit instead",
                location=location,
            )
        if task.in_mapped_group:
            raise UnsupportedError(
                f"task {task.task_id!r} is in a dynamically mapped task group (.expand() on a task group), which "
                "bridge cannot yet run on Argo; map the tasks one by one (task.expand()) instead",
                location=location,
            )
        if task.is_mapped and task.skip_kind:
            raise UnsupportedError(
                f"task {task.task_id!r} is a dynamically mapped branch or short-circuit (.expand()), whose "
                "per-index decisions bridge cannot carry across pods; map the work and branch in a separate task",
                location=location,
            )
        for conn_id in task.conn_ids:
            if not _CONN_ID.match(conn_id):
                shown = _URI_PASSWORD.sub(r"\1***@", conn_id)
                raise UnsupportedError(
                    f"task {task.task_id!r} passes {shown!r} where a connection id belongs (a *conn_id argument); "
                    "bridge would write it into the Workflow. Put the URI in the bridge-connections Secret under a "
                    "connection id (letters, digits, '_', '.', '-') and pass that id",
                    location=location,
                )
    for name, _ in dag.params:
        if not _PARAMETER_NAME.match(name) or name in RESERVED_PARAMETERS:
            raise UnsupportedError(
                f"DAG param {name!r} cannot be an Argo workflow parameter (letters, digits, '-' and '_' only; "
                "'run-date' and 'run-id' are bridge's own); rename the param",
                location=location,
            )


def plan_workflow(
    dag: SourceDag,
    *,
    image: str | None = None,
    namespace: str | None = None,
    deadline_grace_seconds: int = 60,
) -> Plan:
    """Decide every name, dependency and template of the Workflow for `dag`."""
    check_supported(dag)
    task_names = names.argo_names([task.task_id for task in dag.tasks])
    by_id = {task.task_id: task for task in dag.tasks}
    downstream: dict[str, set[str]] = {task.task_id: set() for task in dag.tasks}
    for task in dag.tasks:
        for up in task.upstream:
            downstream[up].add(task.task_id)
    short_circuits = {
        task.task_id: semantics.descendants(task.task_id, downstream)
        for task in dag.tasks
        if task.skip_kind == "short_circuit_all"
    }
    specs: dict[str, TemplateSpec] = {}
    planned: list[PlannedTask] = []
    settings: list[tuple[str, str]] = []
    for task in dag.tasks:
        spec = TemplateSpec(
            name="",
            retry=retry_policy(task),
            deadline_seconds=deadline_seconds(task, deadline_grace_seconds),
            conn_ids=task.conn_ids,
            mapped=task.is_mapped,
        )
        spec = TemplateSpec(_template_name(spec), spec.retry, spec.deadline_seconds, spec.conn_ids, spec.mapped)
        specs.setdefault(spec.name, spec)
        upstream_names = tuple(sorted(task_names[up] for up in task.upstream))
        conditions = semantics.task_conditions(task, task_names, by_id, short_circuits)
        planned.append(
            PlannedTask(
                name=task_names[task.task_id],
                task_id=task.task_id,
                task_file=f"dags/{dag.dag_id}/{task.task_id}.py",
                template=spec.name,
                depends=conditions.depends,
                upstream_names=upstream_names,
                when=conditions.when,
            )
        )
        extra = task_settings(task)
        if extra:
            settings.append((task.task_id, extra))
    workflow_name = names.argo_name(dag.dag_id, names.WORKFLOW_PREFIX_MAX)
    leaves = sorted(task_names[t] for t, downs in downstream.items() if not downs)
    state_tasks = [task_names[t] for t in semantics.dagrun_state_tasks(by_id, downstream)]
    verdict = VERDICT if VERDICT not in task_names.values() else names.argo_name(VERDICT + "." + dag.dag_id)
    return Plan(
        dag=dag,
        workflow_name=workflow_name,
        source_file=f"sources/{dag.dag_id}/{os.path.basename(dag.source_path)}",
        tasks=tuple(planned),
        templates=tuple(specs[name] for name in sorted(specs)),
        image=image or default_image(workflow_name),
        namespace=namespace,
        task_settings=tuple(sorted(settings)),
        verdict_name=verdict,
        verdict_depends=semantics.verdict_depends(state_tasks, leaves),
    )


def task_settings(task: SourceTask) -> str:
    """Pool, queue and executor_config, kept as JSON until the scheduling issue maps them."""
    data: dict[str, object] = {}
    if task.pool and task.pool != _DEFAULT_POOL:
        data["pool"] = task.pool
    if task.queue not in _DEFAULT_QUEUES:
        data["queue"] = task.queue
    if task.executor_config:
        data["executor_config"] = json.loads(task.executor_config)
    return json.dumps(data, sort_keys=True) if data else ""
