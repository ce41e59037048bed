"""SourceDag -> Plan: names, dependencies, shared templates. Pure: no Airflow, no files."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from bridge import names, rbac, semantics
from bridge.constants import VERDICT_NAME
from bridge.errors import UnsupportedError
from bridge.model import Plan, PlannedTask, RetryPolicy, SemaphoreLimit, SourceDag, SourceTask, SyncSpec, TemplateSpec

RESERVED_PARAMETERS = frozenset({"run-date", "run-id"})
_PARAMETER_NAME = re.compile(r"^[-a-zA-Z0-9_]+$")
_CONN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")  # Airflow's own rule for connection ids
_URI_PASSWORD = re.compile(r"(://[^/\s:@]*):[^@\s/]*@")
DEFAULT_POOL = "default_pool"  # Airflow's pool for tasks that name none ([core] default_pool_task_slot_count: 128)
_DEFAULT_QUEUES = frozenset({"", "default"})
BASE_TEMPLATE = "task"
MAPPED_TEMPLATE = "task-mapped"
# What the operator itself does with the API when it runs through Airflow (cncf provider 10.25:
# the operator and PodManager create, read, list, patch and delete the pod, read its log and events,
# exec into the XCom sidecar).
KPO_POD_PERMISSIONS = rbac.describe(rbac.POD_IN_POD)
# What an ExternalTaskSensor's pod asks the Kubernetes API (bridge.runtime.external).
SENSOR_PERMISSIONS = rbac.describe(rbac.SENSOR)
TRIGGER_PERMISSIONS = rbac.describe(rbac.TRIGGER)
POD_TEMPLATE_PREFIX = "pod-"  # + the task's name: a native KubernetesPodOperator pod (bridge.airflow.kpo)
DEFAULT_POOL_SLOTS = 1  # a pool's slots live in Airflow's database; bridge assumes the safe minimum
POOL_PREFIX = "bridge-pool-"
POOL_KEY = "slots"
DAG_LOCK_PREFIX = "bridge-dag-"
MAX_ACTIVE_RUNS_KEY = "max-active-runs"
MAX_ACTIVE_TIS_KEY = "max-active-tis-per-dag."
_CONFIGMAP_NAME_MAX = 253


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
    data: dict[str, Any] = {
        "retry": None if retry is None else [retry.limit, retry.duration_seconds, retry.factor, retry.cap_seconds],
        "deadline": spec.deadline_seconds,
        "conns": list(spec.conn_ids),
    }
    if spec.mapped:
        data["mapped"] = True
    if spec.assets:
        data["assets"] = True
    if spec.sync:
        data["sync"] = [list(spec.sync.mutexes), [list(ref) for ref in spec.sync.semaphores]]
    return json.dumps(data, sort_keys=True)


def _template_name(spec: TemplateSpec) -> str:
    if spec.retry is None and spec.deadline_seconds is None and not spec.conn_ids and not spec.sync and not spec.assets:
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


def dag_lock_name(workflow_name: str) -> str:
    """The DAG's Argo mutex, and the ConfigMap holding its semaphore limits (one name for both)."""
    return DAG_LOCK_PREFIX + workflow_name


def pool_config_map(pool: str) -> str:
    """The ConfigMap holding an Airflow pool's slots; the same name from every DAG that uses the pool."""
    return POOL_PREFIX + names.argo_name(pool, _CONFIGMAP_NAME_MAX - len(POOL_PREFIX))


def task_pool(task: SourceTask) -> str:
    """The Airflow pool a task runs in (no pool means Airflow's default_pool)."""
    return task.pool or DEFAULT_POOL


def check_pool_slots(pool_slots: Mapping[str, int], location: str) -> None:
    """Slots must be positive integers (an Argo semaphore limit of 0 fails every run that needs it)."""
    for pool, slots in sorted(pool_slots.items()):
        if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
            raise UnsupportedError(f"pool {pool!r}: slots must be a positive integer, not {slots!r}", location=location)


class _Locks:
    """Collects the semaphores the Workflow uses and the limits their ConfigMap keys get."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.limits: dict[tuple[str, str], SemaphoreLimit] = {}

    def semaphore(self, config_map: str, key: str, limit: int, reason: str, pool: str = "") -> tuple[str, str]:
        known = self.limits.setdefault((config_map, key), SemaphoreLimit(config_map, key, limit, reason, pool))
        if known.pool != pool:
            raise UnsupportedError(
                f"pools {known.pool!r} and {pool!r} would share the semaphore ConfigMap {config_map} (Kubernetes names "
                "are lower-case letters, digits and '-'); rename one of the pools",
                location=self.location,
            )
        return (config_map, key)

    def sorted_limits(self) -> tuple[SemaphoreLimit, ...]:
        return tuple(self.limits[ref] for ref in sorted(self.limits))


def run_sync(dag: SourceDag, workflow_name: str, locks: _Locks) -> SyncSpec:
    """The Workflow-level lock: a mutex for max_active_runs=1 or depends_on_past, else a semaphore when set."""
    lock = dag_lock_name(workflow_name)
    if dag.max_active_runs == 1 or any(task.depends_on_past for task in dag.tasks):
        return SyncSpec(mutexes=(lock,))
    runs = dag.max_active_runs
    if runs is not None and runs > 1 and runs != dag.default_max_active_runs:
        return SyncSpec(semaphores=(locks.semaphore(lock, MAX_ACTIVE_RUNS_KEY, runs, "max_active_runs"),))
    return SyncSpec()


def task_sync(task: SourceTask, task_name: str, workflow_name: str, pool_slots: Mapping[str, int], locks: _Locks) -> SyncSpec:
    """Template-level semaphores: the task's pool (slots shared by every DAG) and max_active_tis_per_dag."""
    refs = []
    pool = task_pool(task)
    if pool != DEFAULT_POOL or DEFAULT_POOL in pool_slots:
        slots = pool_slots.get(pool, DEFAULT_POOL_SLOTS)
        refs.append(locks.semaphore(pool_config_map(pool), POOL_KEY, slots, f"slots of Airflow pool {pool!r}", pool))
    if task.max_active_tis_per_dag:
        reason = f"max_active_tis_per_dag of task {task.task_id!r}"
        key = MAX_ACTIVE_TIS_KEY + task_name
        refs.append(locks.semaphore(dag_lock_name(workflow_name), key, task.max_active_tis_per_dag, reason))
    return SyncSpec(semaphores=tuple(refs))


def _some(task_ids: list[str]) -> str:
    return ", ".join(repr(t) for t in task_ids[:3]) + (" …" if len(task_ids) > 3 else "")


def concurrency_notes(dag: SourceDag, pool_slots: Mapping[str, int], locks: _Locks) -> tuple[str, ...]:
    """What the emitted locks cannot honour exactly, for bridge split to print (docs/SCHEDULES.md)."""
    notes = []
    pools: dict[str, list[str]] = {}
    for task in dag.tasks:
        pools.setdefault(task_pool(task), []).append(task.task_id)
    for pool, task_ids in sorted(pools.items()):
        if pool == DEFAULT_POOL or pool in pool_slots:
            continue
        notes.append(
            f"pool {pool!r} (tasks {_some(task_ids)}): its slots live in Airflow's database, so the semaphore "
            f"{pool_config_map(pool)} gets {DEFAULT_POOL_SLOTS}; pass --pool-slots {shlex.quote(pool + '=N')} "
            "(or edit that ConfigMap)"
        )
    for task in dag.tasks:
        ref = (pool_config_map(task_pool(task)), POOL_KEY)
        if task.pool_slots > 1 and ref in locks.limits:
            notes.append(
                f"task {task.task_id!r} has pool_slots={task.pool_slots}, but an Argo semaphore gives each task one "
                f"slot: it takes 1 slot of pool {task_pool(task)!r}"
            )
    past = [task.task_id for task in dag.tasks if task.depends_on_past]
    if past:
        notes.append(
            f"depends_on_past (tasks {_some(past)}): runs of "
            "the DAG are serialised by an Argo mutex, but a task that failed in the previous run does not hold the "
            "next run back (no shared database); see docs/SCHEDULES.md"
        )
    return tuple(notes)


def sla_notes(dag: SourceDag) -> tuple[str, ...]:
    """Airflow 2's SLAs: nothing on Argo checks them, so say which tasks set one (Airflow 3 removed them)."""
    tasks = [task.task_id for task in dag.tasks if task.sla_seconds is not None]
    if not tasks and not dag.sla_miss_callback:
        return ()
    what = f"tasks {', '.join(repr(t) for t in tasks)} set `sla`" if tasks else "no task sets `sla`"
    callback = " and the DAG sets sla_miss_callback" if dag.sla_miss_callback else ""
    return (
        f"SLAs are not enforced on Argo: {what}{callback}; no SLA miss is recorded, no SLA e-mail is sent and "
        "sla_miss_callback never runs (Airflow's scheduler checks SLAs, and Airflow 3 removed them). For a hard limit "
        "use execution_timeout or dagrun_timeout (Argo deadlines); for an alert, watch the Workflow's duration",
    )


def plan_workflow(
    dag: SourceDag,
    *,
    deadline_grace_seconds: int = 60,
    pool_slots: Mapping[str, int] | None = None,
) -> Plan:
    """Decide every name, dependency and template of the Workflow for `dag`.

    `pool_slots` gives Airflow pools their slots (pools the DAG does not use are ignored);
    Airflow's default_pool gets a semaphore only when it is named there.
    """
    check_supported(dag)
    pool_slots = dict(pool_slots or {})
    check_pool_slots(pool_slots, dag.source_path)
    workflow_name = names.argo_name(dag.dag_id, names.WORKFLOW_PREFIX_MAX)
    locks = _Locks(dag.source_path)
    sync = run_sync(dag, workflow_name, locks)
    task_names = names.argo_names([task.task_id for task in dag.tasks])
    by_id = {task.task_id: task for task in dag.tasks}
    upstream_of = {task.task_id: task.upstream for task in dag.tasks}
    downstream: dict[str, set[str]] = {task.task_id: set() for task in dag.tasks}
    for task in dag.tasks:
        for up in task.upstream:
            downstream[up].add(task.task_id)
    short_circuits = {
        task.task_id: semantics.descendants(task.task_id, downstream)
        for task in dag.tasks
        if task.skip_kind == "short_circuit_all"
    }
    conditions_of = semantics.dag_conditions(by_id, task_names, short_circuits)
    by_name = {task_names[task_id]: task_id for task_id in conditions_of}
    specs: dict[str, TemplateSpec] = {}
    planned: list[PlannedTask] = []
    settings: list[tuple[str, str]] = []
    for task in dag.tasks:
        spec = TemplateSpec(
            name="",
            retry=retry_policy(task),
            deadline_seconds=deadline_seconds(task, deadline_grace_seconds),
            conn_ids=() if task.native_pod else task.conn_ids,
            mapped=task.is_mapped,
            assets=bool(task.outlets) and not task.native_pod,
            sync=task_sync(task, task_names[task.task_id], workflow_name, pool_slots, locks),
            native_pod=task.native_pod,
            pod_rendered=task.pod_rendered,
            pod_xcom=task.pod_xcom,
            pod_skip_codes=task.pod_skip_codes,
            pod_callbacks=task.pod_callbacks,
            pod_metadata=task.pod_metadata,
        )
        # A native pod's template is its own (its container is the task's): named after the task.
        spec = replace(spec, name=f"{POD_TEMPLATE_PREFIX}{task_names[task.task_id]}" if task.native_pod else _template_name(spec))
        specs.setdefault(spec.name, spec)
        upstream_names = tuple(sorted(task_names[up] for up in task.upstream))
        conditions = conditions_of[task.task_id]
        # A native pod reads XCom only in its render and callbacks steps (its templates, its
        # callbacks' xcom_pull); it pushes its return.json (do_xcom_push=True) or nothing.
        airflow_steps = bool(task.pod_rendered or task.pod_callbacks)
        reads = not (task.is_noop or task.native_pod) or airflow_steps
        found = () if task.native_pod and not airflow_steps else xcom_sources(task.task_id, upstream_of, task.xcom_pulls, reads)
        sources = tuple(sorted(task_names[s] for s in found if not by_id[s].native_pod or by_id[s].pod_xcom))
        safe = conditions.safe
        if set(sources) - set(upstream_names):
            safe = _required_outputs(task.task_id, conditions_of, by_name)
        planned.append(
            PlannedTask(
                name=task_names[task.task_id],
                task_id=task.task_id,
                task_file=f"dags/{dag.dag_id}/{task_names[task.task_id]}.py",
                template=spec.name,
                depends=conditions.depends,
                upstream_names=upstream_names,
                when=conditions.when,
                xcom_sources=sources,
                safe_outputs=safe,
            )
        )
        extra = task_settings(task)
        if extra:
            settings.append((task.task_id, extra))
    leaves = sorted(task_names[t] for t, downs in downstream.items() if not downs)
    state_tasks = [task_names[t] for t in semantics.dagrun_state_tasks(by_id, downstream)]
    verdict = VERDICT_NAME if VERDICT_NAME not in task_names.values() else names.argo_name(f"{VERDICT_NAME}.{dag.dag_id}")
    return Plan(
        dag=dag,
        workflow_name=workflow_name,
        source_file=f"sources/{dag.source_rel or os.path.basename(dag.source_path)}",
        tasks=tuple(planned),
        templates=tuple(specs[name] for name in sorted(specs)),
        task_settings=tuple(sorted(settings)),
        verdict_name=verdict,
        verdict_depends=semantics.verdict_depends(state_tasks, leaves),
        run_sync=sync,
        semaphore_limits=locks.sorted_limits(),
        pod_xcom=tuple(sorted((task_names[t.task_id], t.task_id) for t in dag.tasks if t.pod_xcom)),
        notes=concurrency_notes(dag, pool_slots, locks) + sla_notes(dag) + pod_notes(dag) + link_notes(dag),
    )


def pod_notes(dag: SourceDag) -> tuple[str, ...]:
    """What split says about KubernetesPodOperator tasks (SourceTask.pod_note): one line per
    distinct note (a repository's ninety pods naming one namespace get one line, not ninety)."""
    by_note: dict[str, list[SourceTask]] = {}
    for task in dag.tasks:
        if task.pod_note:
            by_note.setdefault(task.pod_note, []).append(task)
    notes = []
    for note, tasks in by_note.items():
        operators = ", ".join(sorted({task.operator for task in tasks}))
        if len(tasks) == 1:
            notes.append(f"task {tasks[0].task_id!r} ({operators}): {note}")
        else:
            notes.append(f"{len(tasks)} tasks {_some([task.task_id for task in tasks])} ({operators}): {note}")
    through = [task.task_id for task in dag.tasks if task.pod_note and not task.native_pod]
    if through:
        notes.append(
            f"DAG {dag.dag_id!r}: {_some(through)} create their pods through the Kubernetes API: the ServiceAccount "
            f"of the Workflow's pods needs {KPO_POD_PERMISSIONS} in the pods' namespace, which "
            f"rbac/{names.argo_name(dag.dag_id, names.WORKFLOW_PREFIX_MAX)}-tasks.yaml grants (docs/SEMANTICS.md, "
            "\"KubernetesPodOperator\"); native pods need none"
        )
    return tuple(notes)


def link_notes(dag: SourceDag) -> tuple[str, ...]:
    """What ExternalTaskSensors and TriggerDagRunOperators need: they read or start the other DAGs'
    Workflows from their pods (docs/SCHEDULES.md, "Dependencies between DAGs")."""
    role = f"rbac/{names.argo_name(dag.dag_id, names.WORKFLOW_PREFIX_MAX)}-tasks.yaml"
    notes = []
    sensors = [task.task_id for task in dag.tasks if task.dag_link == "sensor"]
    if sensors:
        notes.append(
            f"DAG {dag.dag_id!r}: {_some(sensors)} wait on other DAGs' runs, read from their Workflows: the "
            f"ServiceAccount of the Workflow's pods needs {SENSOR_PERMISSIONS} in their namespace, which {role} grants "
            "(docs/SCHEDULES.md, \"Dependencies between DAGs\")"
        )
    triggers = [task for task in dag.tasks if task.dag_link == "trigger"]
    if triggers:
        targets = ", ".join(repr(t) for t in sorted({task.dag_link_target for task in triggers}))
        notes.append(
            f"DAG {dag.dag_id!r}: {_some([task.task_id for task in triggers])} start runs of {targets} as Workflows of "
            "their WorkflowTemplates: split those DAGs with --emit workflowtemplate and apply them; the ServiceAccount "
            f"of the Workflow's pods needs {TRIGGER_PERMISSIONS} in their namespace, which {role} grants "
            "(docs/SCHEDULES.md, \"Dependencies between DAGs\")"
        )
    return tuple(notes)


def task_settings(task: SourceTask) -> str:
    """Queue and executor_config, kept as JSON (pools became semaphores: task_sync)."""
    data: dict[str, object] = {}
    if task.queue not in _DEFAULT_QUEUES:
        data["queue"] = task.queue
    if task.executor_config:
        data["executor_config"] = json.loads(task.executor_config)
    return json.dumps(data, sort_keys=True) if data else ""


def xcom_sources(
    task_id: str, upstream: Mapping[str, Iterable[str]], pulled: tuple[str, ...] | None, reads_upstreams: bool = True
) -> tuple[str, ...]:
    """The tasks whose XCom rows `task_id` receives: its direct upstreams (unless its run cannot read
    them: SourceTask.is_noop) plus the ancestors it pulls from by a literal id
    (SourceTask.xcom_pulls), or every ancestor when that is None (dynamic).
    A pulled task that is no ancestor may not have run yet (in Airflow too): it is not passed."""
    direct = set(upstream.get(task_id, ())) if reads_upstreams else set()
    if pulled is not None and not (set(pulled) - direct):
        return tuple(sorted(direct))
    ancestors = semantics.descendants(task_id, upstream)  # the walk downstream, over the upstream edges
    return tuple(sorted(ancestors if pulled is None else direct | (set(pulled) & ancestors)))


def _required_outputs(task_id: str, conditions: Mapping[str, semantics.Conditions], by_name: Mapping[str, str]) -> frozenset[str]:
    """The tasks (Argo names) whose outputs exist whenever `task_id` runs: those its `depends`
    requires to be Succeeded or Skipped, and theirs in turn (a Succeeded or Skipped node's own
    `depends` held), so a pulled ancestor behind a chain of `all_success` tasks is read plainly.
    `by_name`: Argo name -> task id. Walked only for tasks that receive more than their upstreams."""
    found: set[str] = set()
    stack = list(conditions[task_id].safe)
    while stack:
        name = stack.pop()
        if name not in found:
            found.add(name)
            upstream = by_name.get(name)
            if upstream is not None:
                stack.extend(conditions[upstream].safe)
    return frozenset(found)
