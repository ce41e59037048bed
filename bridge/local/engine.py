"""`bridge run`'s engine: execute an emitted Argo Workflow on this machine the way Argo would.

One scheduler loop (this thread) owns all node state; each pod attempt runs on its own worker
thread through a `Launcher` and reports back on a queue. The entrypoint is a DAG or steps
template; a task may call another (its tasks then run inside it, as `<node>.<task>`) and may loop
(`withItems`, `withParam`: a TaskGroup node with children `<task>(<i>:<item>)`, bridge/local/expand.py). The order of decisions follows Argo
v4.1.2's controller: workflow/controller/dag.go (executeDAGTask, evaluateDependsLogic,
resolveDependencyReferences, assessDAGPhase), workflow/controller/operator.go
(processNodeRetries, checkParallelism, getWorkflowDeadline), workflow/controller/scope.go
(addSkippedNodeOutputsToScope, markAbsentOptionalArgs), workflow/common/util.go (ProcessArgs,
SubstituteParams) and workflow/executor/executor.go (SaveParameters).
"""

from __future__ import annotations

import copy
import os
import queue
import random
import re
import string
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.argo import expr
from bridge.argo.versions import DEFAULT_VERSION, ArgoVersion, skipped_reference
from bridge.local import exit_handler, expand, resolve
from bridge.local import pod as pods
from bridge.local.launcher import LOST, HostLauncher, Launcher, PodOutcome
from bridge.local.phase import FULFILLED, assess_dag_phase
from bridge.local.result import Attempt, Event, EventHandler, NodeResult, RunResult, rfc3339
from bridge.local.retry import BACKOFF, FINISH, decide_retry
from bridge.local.spec import WorkflowError, argument_values, as_string, int_or_string, parse_duration, template_kind, templates_by_name
from bridge.local.stopping import Stopped, stop_on_signals
from bridge.local.sync import LockError, Locks
from bridge.local.template import SubstitutionError, substitute, substitute_all


def run_workflow(
    workflow: Mapping[str, Any],
    *,
    split_dir: str,
    parameters: Mapping[str, str] | None = None,
    parallelism: int | None = None,
    retry_delay_scale: float = 1.0,
    log_dir: str,
    on_event: EventHandler | None = None,
    launcher: Launcher | None = None,
    grace_seconds: float = 30.0,
    env: Mapping[str, str] | None = None,
    config_maps: Mapping[str, Mapping[str, Any]] | None = None,
    config_maps_source: str = "",
    objects_dir: str | None = None,
    argo_version: ArgoVersion | None = None,
    lost_pods: frozenset[str] = frozenset(),
) -> RunResult:
    """Run `workflow` (a parsed Workflow dict) to completion and return every node's outcome.

    `parameters` override `spec.arguments.parameters` (like `argo submit -p`); `parallelism`
    overrides `spec.parallelism`; `retry_delay_scale` multiplies every wait the engine makes
    (retry backoff, suspend durations: 0 runs retries at once). Logs go to `log_dir/<task>.log`.
    `env` is the environment pods inherit (default: this process's; importing Airflow in-process
    may have changed it, so callers that split first should pass a copy taken before).
    `config_maps` (name -> data) are the ConfigMaps the namespace holds: semaphore limits are read
    from them (`config_maps_source` says where they came from, for messages). `objects_dir` stands
    for the namespace's Secrets and ConfigMaps that pods read (envFrom, volumes, secretKeyRef):
    `<objects_dir>/<name>/<key>` files (bridge/local/pod.py, docs/LOCAL.md). `argo_version`: the
    release whose differences bridge.argo.versions lists to reproduce (default: the newest, 4.1).
    `lost_pods`: tasks of the entry DAG whose every pod is lost as on a failed Kubernetes node (not
    started; the node ends in Error "pod deleted" with no outputs, operator.go podReconciliation).
    Raises WorkflowError when Argo would reject the Workflow at submit time.
    """
    run = _Run(
        workflow,
        split_dir=split_dir,
        parameters=dict(parameters or {}),
        parallelism=parallelism,
        scale=retry_delay_scale,
        log_dir=log_dir,
        on_event=on_event,
        launcher=launcher,
        grace_seconds=grace_seconds,
        env=env,
        config_maps=config_maps,
        config_maps_source=config_maps_source,
        objects_dir=objects_dir,
        argo_version=argo_version,
        lost_pods=lost_pods,
    )
    return run.run()


@dataclass
class _Job:
    """A node that passed depends and when: its processed template, waiting for or running its work."""

    template: dict[str, Any]
    kind: str  # container, suspend, dag (a DAG or steps template) or group (a loop's TaskGroup)
    retry: dict[str, Any] | None
    state: str = "ready"  # ready, running, backoff, suspended
    due: float = 0.0  # monotonic time the backoff or suspension ends
    first_started: float = 0.0  # monotonic, for backoff.maxDuration
    waiting: str = ""  # Argo's message while the node waits for a synchronization lock
    dag: expand.DagSpec | None = None  # kind dag: what it runs


@dataclass
class _Dag:
    """A DAG being walked: the entrypoint's (node "", prefix ""), or one a node runs (prefix "<node>.")."""

    spec: expand.DagSpec
    node: str
    prefix: str
    done: bool = False  # its node is fulfilled: nothing more starts in it

    def key(self, task: str) -> str:
        """The node key of one of its tasks (or of a loop's child)."""
        return self.prefix + task


def _log_name(key: str) -> str:
    """A node key as a file name (loop children carry their item)."""
    return re.sub(r"[^A-Za-z0-9_.()+:,=-]+", "-", key)


class _Run:
    """State of one run; only the scheduler thread touches it (workers talk through `events`)."""

    def __init__(
        self,
        workflow: Mapping[str, Any],
        *,
        split_dir: str,
        parameters: dict[str, str],
        parallelism: int | None,
        scale: float,
        log_dir: str,
        on_event: EventHandler | None,
        launcher: Launcher | None,
        grace_seconds: float,
        env: Mapping[str, str] | None = None,
        config_maps: Mapping[str, Mapping[str, Any]] | None = None,
        config_maps_source: str = "",
        objects_dir: str | None = None,
        argo_version: ArgoVersion | None = None,
        lost_pods: frozenset[str] = frozenset(),
    ) -> None:
        self.workflow = copy.deepcopy(dict(workflow))
        self.lost_pods = lost_pods
        self.argo_version = argo_version or DEFAULT_VERSION
        self.skipped_reference = skipped_reference(self.argo_version)
        self.objects_dir = os.path.abspath(objects_dir) if objects_dir else None
        self.spec: dict[str, Any] = self.workflow.get("spec") or {}
        self.templates = templates_by_name(self.workflow)
        self.log_dir = os.path.abspath(log_dir)
        self.scale = max(0.0, float(scale))
        self.on_event = on_event
        self.launcher: Launcher = launcher or HostLauncher(
            split_dir, os.path.join(self.log_dir, "pods"), grace_seconds=grace_seconds, base_env=env
        )
        self.local_env: Mapping[str, str] = dict(env) if env is not None else os.environ
        self.name = self._workflow_name()
        self.parameters = resolve.global_parameters(self.spec, parameters)
        self.globals = resolve.global_scope(self.workflow, self.name, self.parameters, time.time())
        self.locks = Locks(config_maps or {}, str(self.globals["workflow.namespace"]), config_maps_source)
        self.holding: set[str] = set()  # nodes holding their template's synchronization locks
        entry = self._entrypoint()
        for template in self.templates.values():  # as Argo validates every template at submit time
            if template is not entry and template_kind(template) in ("dag", "steps"):
                expand.dag_spec(template)
        self.root = _Dag(expand.dag_spec(entry), "", "")
        self.boundary: dict[str, _Dag] = {}  # node key -> the DAG it belongs to
        self.task_of: dict[str, str] = {}  # node key -> its task's name in that DAG (a loop child's own name)
        self.inner: dict[str, _Dag] = {}  # node key of a dag job -> the DAG it runs
        self.children: dict[str, list[str]] = {}  # node key of a loop -> its children's keys, in index order
        self.sequence: list[str] = []  # every node key, in DAG order (inner nodes after their node)
        self._add_tasks(self.root, after=None)
        limit = parallelism if parallelism is not None else int_or_string(self.spec.get("parallelism"), "spec.parallelism")
        self.max_pods = limit if limit is not None and limit > 0 else None
        self.deadline_seconds = int_or_string(self.spec.get("activeDeadlineSeconds"), "spec.activeDeadlineSeconds")
        self.nodes: dict[str, NodeResult] = {}
        self.jobs: dict[str, _Job] = {}
        self.events: queue.Queue[tuple[str, int, PodOutcome, float, float]] = queue.Queue()
        self.cancel = threading.Event()
        self.stop_message = ""  # why the run was stopped (Ctrl-C or a stop signal)
        self.threads: list[threading.Thread] = []
        self.started_wall = 0.0
        self.started_mono = 0.0
        self.exit_node = ""  # spec.onExit's node once it started: `<workflow>.onExit`, free of the workflow deadline

    # ---- set-up ------------------------------------------------------------------------------

    def _workflow_name(self) -> str:
        meta = self.workflow.get("metadata") or {}
        if meta.get("name"):
            return str(meta["name"])
        suffix = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(5))
        return f"{meta.get('generateName') or 'workflow-'}{suffix}"

    def _entrypoint(self) -> dict[str, Any]:
        entry = self.spec.get("entrypoint")
        template = self.templates.get(str(entry))
        if template is None:
            raise WorkflowError(f"spec.entrypoint {entry!r} is not one of spec.templates")
        if template_kind(template) not in ("dag", "steps"):
            raise WorkflowError(
                f"spec.entrypoint {entry!r} is a {template_kind(template)} template; bridge run runs DAG and steps templates"
            )
        return template

    def _add_tasks(self, dag: _Dag, after: str | None) -> None:
        """Register a DAG's tasks and visit them right after the node that runs it."""
        keys = [dag.key(name) for name in dag.spec.order]
        for name, key in zip(dag.spec.order, keys):
            self.boundary[key], self.task_of[key] = dag, name
        self._insert(keys, after)

    def _insert(self, keys: list[str], after: str | None) -> None:
        at = len(self.sequence) if after is None else self.sequence.index(after) + 1
        self.sequence[at:at] = keys

    # ---- the loop ----------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Drive the DAG until no node can change, then assess the phase."""
        self.started_wall, self.started_mono = time.time(), time.monotonic()
        os.makedirs(self.log_dir, exist_ok=True)
        self._emit("run-started", "")
        interrupted = False
        refused = self._acquire_workflow_locks()
        exit_phase: str | None = None
        with stop_on_signals(self.cancel):
            try:
                if not refused:
                    self._loop()
                    phase, message = self._assess(False)
                    if self.spec.get("onExit"):
                        exit_phase, exit_message = self._run_exit_handler(phase, message)
                        phase, message = exit_handler.phase_after_exit(phase, message, exit_phase, exit_message)
            except (KeyboardInterrupt, Stopped) as stop:
                interrupted = True
                name = stop.name if isinstance(stop, Stopped) else "SIGINT"
                self._stop(f"Stopped: the run was interrupted ({name})")
        if refused or interrupted:
            phase, message = ("Failed", refused) if refused else self._assess(interrupted)
        result = RunResult(
            workflow_name=self.name,
            phase=phase,
            message=message,
            nodes={key: self.nodes[key] for key in self.sequence if key in self.nodes},
            parameters=dict(self.parameters),
            started_at=self.started_wall,
            finished_at=time.time(),
            log_dir=self.log_dir,
            interrupted=interrupted,
        )
        self._emit("run-finished", "", message=message, result=result)
        return result

    def _loop(self) -> None:
        """Advance the nodes until none can change."""
        while True:
            self._drain(block=False)
            if self._advance():
                continue
            if not self.jobs:
                return
            if self._deadlocked():
                continue
            self._drain(block=True, timeout=self._next_wakeup())

    # ---- the exit handler (operator.go operate, after the entry node is fulfilled) -------------

    def _failed_nodes(self, phase: str, message: str) -> list[exit_handler.FailedNode]:
        """Every node in phase Failed or Error, as Argo's status.nodes holds them: the entry node, the
        task nodes, and a retried task's attempts (its Retry node's children `task(0)`, `task(1)` …)."""
        failed: list[exit_handler.FailedNode] = []
        entry = str(self.spec.get("entrypoint") or "")
        if phase in exit_handler.FAILED_PHASES:
            failed.append(exit_handler.FailedNode(self.name, self.name, message, entry, phase, time.time()))
        for key in self.sequence:
            node = self.nodes.get(key)
            if node is None:
                continue
            display = self.task_of.get(key, key)
            if node.phase in exit_handler.FAILED_PHASES:
                failed.append(exit_handler.FailedNode(
                    f"{self.name}.{key}", display, node.message, node.template, node.phase, node.finished_at))
            if (self.templates.get(node.template) or {}).get("retryStrategy") is not None:
                for attempt in node.attempts:
                    if attempt.phase in exit_handler.FAILED_PHASES:
                        child = f"{key}({attempt.number - 1})"
                        failed.append(exit_handler.FailedNode(
                            f"{self.name}.{child}", f"{display}({attempt.number - 1})", attempt.message, node.template,
                            attempt.phase, attempt.finished_at))
        return failed

    def _run_exit_handler(self, phase: str, message: str) -> tuple[str | None, str]:
        """spec.onExit runs as the node `<workflow>.onExit` with workflow.status, .failures and .duration set."""
        self.globals["workflow.status"] = exit_handler.workflow_phase(phase)
        self.globals["workflow.failures"] = exit_handler.workflow_failures(self.name, self._failed_nodes(phase, message))
        self.globals["workflow.duration"] = f"{time.time() - self.started_wall:f}"
        template = str(self.spec["onExit"])
        handler = {"name": "exit", "dag": {"tasks": [{"name": exit_handler.ON_EXIT, "template": template}]}}
        dag = _Dag(expand.dag_spec(handler), "", self.name + ".")
        self.exit_node = dag.key(exit_handler.ON_EXIT)
        self._add_tasks(dag, after=None)
        self._loop()
        node = self.nodes.get(self.exit_node)
        return (None, "") if node is None else (node.phase, node.message)

    def _in_exit_handler(self, key: str) -> bool:
        """node.IsPartOfExitHandler: the workflow deadline does not apply (exec_control.go, workflowpod.go)."""
        return bool(self.exit_node) and (key == self.exit_node or key.startswith(self.exit_node + "."))

    # ---- synchronization (workflow/sync) -----------------------------------------------------

    def _holder(self, node: str = "") -> str:
        """sync_manager.go getHolderKey: <namespace>/<workflow>[/<node>]."""
        key = f"{self.globals['workflow.namespace']}/{self.name}"
        return f"{key}/{node}" if node else key

    def _acquire_workflow_locks(self) -> str:
        """spec.synchronization, held for the whole run; '' when acquired, else why the Workflow fails."""
        sync = self.spec.get("synchronization")
        if not sync:
            return ""
        try:
            waiting = self.locks.try_acquire(self._holder(), sync)
        except LockError as error:
            return f"Failed to acquire the synchronization lock. {error}"
        assert waiting is None, waiting  # the only Workflow here: every lock is free
        return ""

    def _acquire_node_locks(self, key: str) -> bool | None:
        """The template's synchronization before its first pod (or its DAG): True held, False waiting, None errored."""
        sync = self.jobs[key].template.get("synchronization")
        if not sync or key in self.holding:
            return True
        try:
            waiting = self.locks.try_acquire(self._holder(key), sync)
        except LockError as error:
            self._finish(key, "Error", str(error))
            return None
        if waiting is not None:
            job = self.jobs[key]
            if not job.waiting:
                self._emit("waiting", key, message=waiting)
            job.waiting = waiting
            return False
        self.holding.add(key)
        return True

    def _deadlocked(self) -> bool:
        """Nothing runs or waits on a clock, yet nodes wait for locks (or a DAG cannot go on): no one will release them.

        Argo would leave these nodes Pending forever; bridge run ends them in Error instead.
        """
        work = [key for key, job in self.jobs.items() if job.kind in ("container", "suspend") or job.state == "ready"]
        if any(self.jobs[key].state != "ready" for key in work):
            return False
        for key in work:
            self._finish(key, "Error", f"{self.jobs[key].waiting or 'waiting'} (Argo would wait for this lock forever)")
        if work:
            return True
        stuck = [key for key in reversed(self.sequence) if key in self.jobs and self.jobs[key].kind == "dag"]
        if not stuck:
            return False
        inner = self.inner[stuck[0]]  # the innermost, last in DAG order
        never = [name for name in inner.spec.order if inner.key(name) not in self.nodes]
        return self._finish(stuck[0], "Error", f"no progress possible; tasks never started: {', '.join(never)}")

    def _stop(self, message: str) -> None:
        """Ctrl-C or a stop signal: kill running pods (their nodes fail) and start nothing more, like `argo stop`."""
        self.stop_message = message
        self.cancel.set()
        for thread in self.threads:
            thread.join()
        self._drain(block=False)
        for key in list(self.jobs):
            if key in self.jobs:
                self._finish(key, "Failed", message)

    def _dag_phase(self, dag: _Dag) -> str:
        """dag.go assessDAGPhase over one DAG's task nodes."""
        order = dag.spec.order
        return assess_dag_phase(
            {name: dag.spec.dependencies[name] for name in order},
            {name: self.nodes[dag.key(name)].phase for name in order if dag.key(name) in self.nodes},
            dag.spec.targets,
            fail_fast=dag.spec.fail_fast,
            continue_on={name: task.get("continueOn") or {} for name, task in dag.spec.tasks.items()},
        )

    def _failed_message(self, dag: _Dag) -> str:
        failed = [key for key, node in self.nodes.items() if key.startswith(dag.prefix) and node.phase in ("Failed", "Error")]
        return f"failed or errored tasks: {', '.join(failed)}" if failed else ""

    def _assess(self, interrupted: bool) -> tuple[str, str]:
        if interrupted:
            return "Failed", self.stop_message
        phase = self._dag_phase(self.root)
        if phase == "Running":
            stuck = [name for name in self.root.spec.order if name not in self.nodes]
            return "Error", f"no progress possible; tasks never started: {', '.join(stuck)}"
        if phase == "Succeeded":
            return phase, ""
        return phase, self._failed_message(self.root)

    def _now(self) -> float:
        return time.monotonic()

    def _deadline(self) -> float | None:
        """operator.go getWorkflowDeadline, on the monotonic clock."""
        if self.deadline_seconds is None:
            return None
        return self.started_mono + self.deadline_seconds

    def _deadline_passed(self, key: str = "") -> bool:
        deadline = self._deadline()
        return deadline is not None and self._now() >= deadline and not self._in_exit_handler(key)

    def _next_wakeup(self) -> float | None:
        waits = [job.due - self._now() for job in self.jobs.values() if job.state in ("backoff", "suspended")]
        deadline = self._deadline()
        if deadline is not None and not self.exit_node:  # the exit handler does not wait for the deadline
            waits.append(deadline - self._now())
        if not waits:
            return None
        return max(0.0, min(waits))

    def _drain(self, *, block: bool, timeout: float | None = None) -> None:
        try:
            item = self.events.get(block=block, timeout=timeout)
        except queue.Empty:
            return
        while True:
            self._pod_finished(*item)
            try:
                item = self.events.get_nowait()
            except queue.Empty:
                return

    def _advance(self) -> bool:
        """One pass over the nodes in DAG order; True when anything changed."""
        changed = False
        for key in list(self.sequence):
            job = self.jobs.get(key)
            if key not in self.nodes:
                changed |= self._consider(key)
            elif job is None:
                continue
            elif job.kind == "group":
                changed |= self._loop_done(key)
            elif job.kind == "dag" and job.state == "running":
                changed |= self._dag_done(key)
            elif job.state == "suspended" and (self._now() >= job.due or self._deadline_passed(key)):
                if self._deadline_passed(key) and self._now() < job.due:
                    self._finish(key, "Failed", "Step exceeded its deadline")
                else:
                    self._finish(key, "Succeeded", "")
                changed = True
            elif job.state == "backoff" and self._now() >= job.due:
                changed |= self._after_attempt(key)
            elif job.state == "ready":
                changed |= self._start(key)
        return changed

    # ---- deciding a task (dag.go executeDAGTask) ---------------------------------------------

    def _consider(self, key: str) -> bool:
        """Once every dependency is fulfilled: depends -> Omitted, a loop -> its children, else `_execute`."""
        dag, name = self.boundary[key], self.task_of[key]
        if dag.done:
            return False
        deps = dag.spec.dependencies[name]
        if any(dag.key(dep) not in self.nodes or self.nodes[dag.key(dep)].phase not in FULFILLED for dep in deps):
            return False
        task = dag.spec.tasks[name]
        self._new_node(key, task)
        if dag.spec.logic[name]:
            results = {
                dep: expr.task_results(
                    self.nodes[dag.key(dep)].phase,
                    [self.nodes[child].phase for child in self.children.get(dag.key(dep), []) if child in self.nodes],
                )
                for dep in deps
            }
            try:
                execute = expr.evaluate_depends(dag.spec.logic[name], results)
            except expr.ExpressionError as error:
                return self._finish(key, "Error", str(error))
            if not execute:
                return self._finish(key, "Omitted", "omitted: depends condition not met")
        scope = self._local_scope(dag, name)
        if any(task.get(loop) is not None for loop in expand.LOOPS):
            return self._expand(key, task, scope)
        return self._execute(key, task, scope)

    def _new_node(self, key: str, task: Mapping[str, Any]) -> NodeResult:
        # Raw argument values until resolved: enough to name the Airflow task of a node that never ran.
        node = NodeResult(task=key, template=str(task.get("template") or ""), kind="Skipped", arguments=argument_values(task))
        node.inputs = resolve.known_inputs(
            self.templates.get(node.template) or {}, node.arguments, {**self.globals, **self._locals(key)}
        )
        self.nodes[key] = node
        return node

    def _locals(self, key: str) -> dict[str, str | None]:
        dag = self.boundary[key]
        node = key[len(self.name) + 1 :] if self._in_exit_handler(key) else key  # `<workflow>.onExit` itself
        return resolve.local_params(self.name, self.task_of[key], node, steps=dag.spec.steps)

    def _execute(self, key: str, task: Mapping[str, Any], scope: Mapping[str, str | None]) -> bool:
        """`when` -> Skipped, else the template (operator.go executeTemplate): a job for a pod, a suspension or a DAG."""
        node = self.nodes[key]
        when = str(task.get("when") or "")
        if when:
            try:
                resolved = substitute(when, scope, resolve.STRICT)
                proceed = expr.evaluate_when(resolved)
            except (SubstitutionError, expr.ExpressionError) as error:
                return self._finish(key, "Error", self._unresolved(error))
            if not proceed:
                return self._finish(key, "Skipped", f"when '{resolved}' evaluated false")
        inner: expand.DagSpec | None = None
        try:
            node.arguments = resolve.resolve_arguments(task, scope)
            template = self.templates.get(node.template)
            if template is None:
                raise WorkflowError(f"template {node.template!r} not found")
            kind = template_kind(template)
            if kind not in ("container", "suspend", "dag", "steps"):
                raise WorkflowError(
                    f"template {node.template!r} is a {kind} template; bridge run runs container, suspend, DAG and steps templates"
                )
            processed = resolve.process_template(template, node.arguments, task, self.globals, self._locals(key))
            if kind in ("dag", "steps"):
                inner = expand.dag_spec(processed)
        except (SubstitutionError, WorkflowError) as error:
            return self._finish(key, "Error", self._unresolved(error))
        retry = processed.get("retryStrategy") if kind == "container" else None
        self.jobs[key] = _Job(template=processed, kind="dag" if inner else kind, retry=retry, dag=inner)
        node.kind = {"container": "Pod", "suspend": "Suspend"}.get(kind, "DAG")
        if kind == "suspend":
            return self._suspend(key)
        return True

    def _expand(self, key: str, task: Mapping[str, Any], scope: Mapping[str, str | None]) -> bool:
        """dag.go executeDAGTask for a loop: resolve the task, expand it (expandTask), run each child."""
        node = self.nodes[key]
        dag = self.boundary[key]
        try:
            resolved = dict(task)
            when = str(task.get("when") or "")
            never = False
            if when:
                resolved["when"] = substitute(when, scope, resolve.STRICT)
                try:
                    never = "{{" not in resolved["when"] and not expr.evaluate_when(resolved["when"])
                except expr.ExpressionError:
                    pass  # may name {{item}}: each child evaluates its own
            if not never:  # resolveDependencyReferences returns early for a `when` that is false
                arguments = resolve.resolve_arguments(task, scope)
                params = ((task.get("arguments") or {}).get("parameters")) or []
                resolved["arguments"] = {
                    **(task.get("arguments") or {}),
                    "parameters": [{**p, "value": arguments[p["name"]]} if arguments.get(p["name"]) is not None else p for p in params],
                }
            for loop in expand.LOOPS:
                if task.get(loop) is not None:
                    resolved[loop] = substitute_all(task[loop], scope, resolve.STRICT)
            expanded = expand.expand_task(resolved, scope)
        except (SubstitutionError, WorkflowError) as error:
            return self._finish(key, "Error", self._unresolved(error))
        if not expanded:
            return self._finish(key, "Skipped", "Skipped, empty params")
        node.kind, node.phase, node.started_at = "TaskGroup", "Running", time.time()
        children = [dag.key(child_name) for child_name, _ in expanded]
        for child, (child_name, _) in zip(children, expanded):
            self.boundary[child], self.task_of[child] = dag, child_name
        self.children[key] = children
        self._insert(children, key)
        self.jobs[key] = _Job(template={}, kind="group", retry=None, state="running")
        for child, (_, child_task) in zip(children, expanded):
            self._new_node(child, child_task)
            self._execute(child, child_task, scope)
        return True

    def _loop_done(self, key: str) -> bool:
        """dag.go: a TaskGroup is fulfilled with its children; Failed/Error when one is (the last such)."""
        kids = [self.nodes.get(child) for child in self.children[key]]
        if any(kid is None or kid.phase not in FULFILLED for kid in kids):
            return False
        phase = "Succeeded"
        for kid in kids:
            if kid is not None and kid.phase in ("Failed", "Error"):
                phase = kid.phase
        return self._finish(key, phase, "")

    def _dag_done(self, key: str) -> bool:
        """A DAG a node runs: its node ends when assessDAGPhase says so."""
        inner = self.inner[key]
        phase = self._dag_phase(inner)
        if phase == "Running":
            return False
        # dag.go executeDAG: a Failed or Error DAG ends before its outputs are resolved.
        outputs = self._dag_outputs(key, inner) if phase == "Succeeded" else None
        if outputs is not None:
            self.nodes[key].outputs = outputs
        return self._finish(key, phase, "" if phase == "Succeeded" else self._failed_message(inner))

    def _dag_outputs(self, key: str, inner: _Dag) -> dict[str, str | None] | None:
        """A DAG template's output parameters (valueFrom.parameter or .expression over its tasks'
        outputs and statuses; the default when one does not resolve), as Argo's dag.go resolves
        them once the DAG succeeded (scope.go resolveParameter)."""
        parameters = ((self.jobs[key].template.get("outputs") or {}).get("parameters")) or []
        if not parameters:
            return None
        names = list(inner.spec.tasks)
        nodes = {n: self.nodes[inner.key(n)] for n in names if inner.key(n) in self.nodes}
        templates = {n: self.templates.get(str(inner.spec.tasks[n].get("template") or "")) or {} for n in names}
        scope = resolve.local_scope(self.globals, self.name, nodes, templates, None, self.skipped_reference)
        found: dict[str, str | None] = {}
        for parameter in parameters:
            source = parameter.get("valueFrom") or {}
            try:
                if source.get("expression"):
                    known = {key: value for key, value in scope.items() if value is not None}
                    found[str(parameter["name"])] = as_string(expr.evaluate_expression(str(source["expression"]), known))
                else:
                    found[str(parameter["name"])] = substitute(str(source.get("parameter") or ""), scope, strict=("tasks",))
            except (SubstitutionError, expr.ExpressionError):
                # scope.go: an output that does not resolve takes its default (none: the node errors).
                found[str(parameter["name"])] = source.get("default")
        return found

    def _unresolved(self, error: Exception) -> str:
        text = str(error)
        if "failed to resolve {{tasks." in text or "failed to resolve {{steps." in text or " is missing" in text:
            # dag.go requeues on a missing variable: Argo would wait forever; we stop with an error.
            return f"{text} (Argo {self.argo_version} would wait for this value forever)"
        return text

    def _local_scope(self, dag: _Dag, name: str) -> dict[str, str | None]:
        """dag.go buildLocalScopeFromTask for task `name` of `dag`: its ancestors' nodes."""
        ancestors = sorted(expand.with_ancestors(dag.spec.dependencies, [name]) - {name})
        nodes = {a: self.nodes[dag.key(a)] for a in ancestors if dag.key(a) in self.nodes}
        loops = {
            a: [self.nodes[child] for child in self.children[dag.key(a)] if child in self.nodes]
            for a in nodes
            if dag.key(a) in self.children
        }
        templates = {a: self.templates.get(str(dag.spec.tasks[a].get("template") or "")) or {} for a in ancestors}
        return resolve.local_scope(self.globals, self.name, nodes, templates, loops, self.skipped_reference)

    # ---- suspend -----------------------------------------------------------------------------

    def _suspend(self, key: str) -> bool:
        """A suspend template: no pod; resumes after its (scaled) duration. No duration resumes at once."""
        job = self.jobs[key]
        node = self.nodes[key]
        node.started_at = time.time()
        duration = (job.template.get("suspend") or {}).get("duration")
        seconds = parse_duration(duration) * self.scale if duration not in (None, "") else 0.0
        job.state, job.due = "suspended", self._now() + max(0.0, seconds)
        if seconds <= 0:
            node.outputs = pods.suspend_outputs(job.template)
            return self._finish(key, "Succeeded", "")
        return True

    # ---- pods and DAGs -----------------------------------------------------------------------

    def _running_pods(self) -> int:
        return sum(1 for job in self.jobs.values() if job.kind == "container" and job.state == "running")

    def _boundary_full(self, key: str) -> bool:
        """operator.go checkParallelism: the template parallelism of the DAG `key` belongs to, over its active children."""
        dag = self.boundary[key]
        limit = dag.spec.parallelism
        if limit is None or limit <= 0:
            return False
        active = sum(
            1
            for other, job in self.jobs.items()
            if self.boundary.get(other) is dag and job.state == "running" and job.kind in ("container", "dag")
        )
        return active >= limit

    def _start(self, key: str) -> bool:
        """Start the next attempt (or the DAG) if parallelism allows (operator.go checkParallelism)."""
        job = self.jobs[key]
        node = self.nodes[key]
        if self._deadline_passed(key):
            # failNodesWithoutCreatedPodsAfterDeadlineOrShutdown: a node that could not get its pod.
            return self._finish(key, "Failed", "Step exceeded its deadline")
        if self.max_pods is not None and self._running_pods() >= self.max_pods:
            return False
        if self._boundary_full(key):
            return False
        held = self._acquire_node_locks(key)
        if not held:
            return held is None
        if job.kind == "dag":
            return self._enter(key)
        try:
            pod = pods.pod_spec(
                key,
                self._attempt_template(job, node),
                len(node.attempts) + 1,
                workflow_name=self.name,
                namespace=str(self.globals["workflow.namespace"]),
                local_env=self.local_env,
                volumes=self.spec.get("volumes") or (),
                objects_dir=self.objects_dir,
            )
            workflow_deadline = None if self._in_exit_handler(key) else self._deadline()
            pod_deadline = pods.pod_deadline(job.template, self._now(), workflow_deadline)
        except WorkflowError as error:
            return self._finish(key, "Error", str(error))
        number = len(node.attempts) + 1
        node.log_path = node.log_path or os.path.join(self.log_dir, f"{_log_name(key)}.log")
        with open(node.log_path, "a", encoding="utf-8") as log:
            log.write(f"=== bridge run: {key} attempt {number} started {rfc3339(time.time())} ===\n")
        started = time.time()
        if node.started_at is None:
            node.started_at = started
            job.first_started = self._now()
        job.state = "running"
        self._emit("started", key, attempt=number, log_path=node.log_path)
        log_path = node.log_path
        if key in self.lost_pods:
            self.events.put((key, number, PodOutcome(None, LOST, "pod deleted", {}), started, time.time()))
            return True

        def work() -> None:
            try:
                outcome = self.launcher.run(pod, log_path=log_path, deadline=pod_deadline, cancel=self.cancel)
            except Exception as error:  # a launcher bug must not hang the scheduler
                outcome = PodOutcome(None, "StartError", f"launcher error: {error!r}", {})
            self.events.put((key, number, outcome, started, time.time()))

        thread = threading.Thread(target=work, name=f"bridge-run-{key}-{number}", daemon=True)
        self.threads.append(thread)
        thread.start()
        return True

    @staticmethod
    def _attempt_template(job: _Job, node: NodeResult) -> dict[str, Any]:
        """executeTemplate's per-attempt parameters of a retried leaf: `retries` and `lastRetry.*`."""
        if not job.retry:
            return job.template
        last = node.attempts[-1] if node.attempts else None
        scope: dict[str, str | None] = {
            "retries": str(len(node.attempts)),
            "lastRetry.exitCode": "0" if last is None or last.exit_code is None else str(last.exit_code),
            "lastRetry.status": "" if last is None else last.phase,
            "lastRetry.duration": "0" if last is None else str(round(last.finished_at - last.started_at, 3)),
            "lastRetry.message": "" if last is None else last.message,
        }
        return substitute_all(job.template, scope)

    def _enter(self, key: str) -> bool:
        """A DAG (or steps) template's node starts: its tasks join the walk, right after it."""
        job = self.jobs[key]
        assert job.dag is not None
        inner = _Dag(job.dag, key, key + ".")
        self.inner[key] = inner
        self._add_tasks(inner, after=key)
        job.state = "running"
        self.nodes[key].started_at = time.time()
        self._emit("started", key, attempt=1)
        return True

    def _pod_finished(self, name: str, number: int, outcome: PodOutcome, started: float, finished: float) -> None:
        """A worker reported: record the attempt (executor.go SaveParameters), then retry or finish."""
        job = self.jobs[name]
        node = self.nodes[name]
        outputs: dict[str, str | None] | None
        # The outputs of the try's own template (its `{{retries}}` substituted, e.g. in a default).
        outputs, missing = pods.output_parameters(self._attempt_template(job, node), outcome.files)
        if outcome.reason == LOST:
            # podReconciliation: a pod that vanished fails its node; no task result ever came.
            outputs, phase, message = None, "Error", outcome.message
        elif outcome.reason == "Completed":
            phase, message = ("Error", missing) if missing else ("Succeeded", "")
        elif outcome.reason == "StartError":
            phase, message = "Error", outcome.message
        else:
            phase, message = "Failed", outcome.message
        node.attempts.append(Attempt(number, phase, message, outcome.exit_code, started, finished))
        node.outputs = outputs
        if outputs is not None:
            self.globals.update(resolve.global_outputs(job.template, outputs))  # later nodes see them
        node.exit_code = outcome.exit_code
        node.finished_at = finished
        job.state = "attempted"
        if outcome.reason == "Cancelled":
            self._finish(name, "Failed", self.stop_message or message)
            return
        self._after_attempt(name)

    def _after_attempt(self, name: str) -> bool:
        """operator.go processNodeRetries for the last attempt (bridge/local/retry.py): finish, wait or run again."""
        job = self.jobs[name]
        node = self.nodes[name]
        last = node.attempts[-1]
        in_backoff = job.state == "backoff"
        decision = decide_retry(
            job.retry,
            attempts=len(node.attempts),
            phase=last.phase,
            message=last.message,
            now=self._now(),
            first_started=job.first_started,
            last_finished=self._finished_mono(last),
            deadline_passed=self._deadline_passed(name),
            in_backoff=in_backoff,
            scale=self.scale,
            exit_code=last.exit_code,
            duration=last.finished_at - last.started_at,
        )
        if decision.action == FINISH:
            return self._finish(name, decision.phase, decision.message)
        if decision.action == BACKOFF:
            job.state, job.due = "backoff", decision.due
            self._emit(
                "retrying", name, attempt=len(node.attempts), message=last.message, exit_code=last.exit_code,
                log_path=node.log_path, delay=decision.delay, nominal_delay=decision.nominal_delay,
            )
            return True
        if not in_backoff:
            self._emit("retrying", name, attempt=len(node.attempts), message=last.message, exit_code=last.exit_code,
                       log_path=node.log_path, delay=0.0, nominal_delay=0.0)
        job.state = "ready"
        return True

    def _finished_mono(self, attempt: Attempt) -> float:
        """An attempt's wall-clock end on the monotonic clock (backoff counts from lastChildNode.FinishedAt)."""
        return self.started_mono + (attempt.finished_at - self.started_wall)

    def _finish(self, name: str, phase: str, message: str) -> bool:
        """Fix a node's phase and report it."""
        node = self.nodes[name]
        node.phase, node.message = phase, message
        if node.started_at is not None and node.finished_at is None:
            node.finished_at = time.time()
        self.jobs.pop(name, None)
        if name in self.holding:
            # operator.go releases a node's locks once it is fulfilled (after its last retry).
            self.holding.discard(name)
            self.locks.release(self._holder(name))
        if name in self.inner:
            self.inner[name].done = True
        kind = {
            "Succeeded": "succeeded", "Failed": "failed", "Error": "errored",
            "Skipped": "skipped", "Omitted": "omitted",
        }[phase]
        self._emit(kind, name, attempt=len(node.attempts), message=message, exit_code=node.exit_code,
                   log_path=node.log_path, node=node)
        return True

    def _emit(self, kind: str, task: str, **details: Any) -> None:
        if self.on_event is None:
            return
        now = time.time()
        self.on_event(Event(kind=kind, task=task, time=now, elapsed=now - self.started_wall, **details))

