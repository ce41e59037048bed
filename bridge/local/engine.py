"""`bridge run`'s engine: execute an emitted Argo Workflow on this machine the way Argo would.

One scheduler loop (this thread) owns all node state; each pod attempt runs on its own worker
thread through a `Launcher` and reports back on a queue. The order of decisions follows Argo
v4.1.2's controller: workflow/controller/dag.go (executeDAGTask, evaluateDependsLogic,
resolveDependencyReferences, assessDAGPhase), workflow/controller/operator.go
(processNodeRetries, checkParallelism, getWorkflowDeadline), workflow/controller/scope.go
(addSkippedNodeOutputsToScope, markAbsentOptionalArgs), workflow/common/util.go (ProcessArgs,
SubstituteParams) and workflow/executor/executor.go (SaveParameters).
"""

from __future__ import annotations

import copy
import json
import os
import queue
import random
import string
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Optional

from bridge.argo import expr
from bridge.local.launcher import LOCAL_FILE_VARIABLES, HostLauncher, Launcher, PodOutcome, PodSpec
from bridge.local.phase import FULFILLED, assess_dag_phase, target_tasks
from bridge.local.spec import WorkflowError, argument_values, as_string, int_or_string, parse_duration, template_kind, templates_by_name
from bridge.local.sync import LockError, Locks
from bridge.local.template import ABSENT, SubstitutionError, is_pure_reference, substitute, substitute_all

STRICT = ("tasks", "steps")  # dag.go: references to other nodes MUST resolve
# Fields bridge run cannot honour; refusing beats silently running something Argo would not.
_UNSUPPORTED_TASK_FIELDS = ("withItems", "withParam", "withSequence", "hooks", "onExit", "templateRef", "inline")


@dataclass
class Attempt:
    """One pod of a node (Argo's retry children `task(0)`, `task(1)` …)."""

    number: int  # 1-based
    phase: str
    message: str
    exit_code: Optional[int]
    started_at: float
    finished_at: float


@dataclass
class NodeResult:
    """A DAG task's node: phase, attempts, output parameters, log."""

    task: str
    template: str
    kind: str  # Pod, Suspend, Skipped (no pod: Omitted, Skipped, or an Error before any pod)
    phase: str = "Pending"
    message: str = ""
    arguments: dict[str, Optional[str]] = field(default_factory=dict)  # resolved argument parameters
    # The template's input parameters as far as known without other tasks' outputs: the argument
    # (raw until resolved), else the default with {{tasks.name}} substituted; set even for no pod.
    inputs: dict[str, Optional[str]] = field(default_factory=dict)
    outputs: Optional[dict[str, Optional[str]]] = None  # output parameters of the last attempt
    exit_code: Optional[int] = None
    attempts: list[Attempt] = field(default_factory=list)
    log_path: Optional[str] = None
    started_at: Optional[float] = None
    finished_at: Optional[float] = None

    @property
    def duration(self) -> Optional[float]:
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
    task: str
    time: float
    elapsed: float
    attempt: int = 0
    message: str = ""
    exit_code: Optional[int] = None
    log_path: Optional[str] = None
    delay: Optional[float] = None  # retrying: the real wait in seconds
    nominal_delay: Optional[float] = None  # retrying: what Argo would wait
    node: Optional[NodeResult] = None
    result: Optional[RunResult] = None


EventHandler = Callable[[Event], None]


def run_workflow(
    workflow: Mapping[str, Any],
    *,
    split_dir: str,
    parameters: Optional[Mapping[str, str]] = None,
    parallelism: Optional[int] = None,
    retry_delay_scale: float = 1.0,
    log_dir: str,
    on_event: Optional[EventHandler] = None,
    launcher: Optional[Launcher] = None,
    grace_seconds: float = 30.0,
    env: Optional[Mapping[str, str]] = None,
    config_maps: Optional[Mapping[str, Mapping[str, Any]]] = None,
    config_maps_source: str = "",
) -> RunResult:
    """Run `workflow` (a parsed Workflow dict) to completion and return every node's outcome.

    `parameters` override `spec.arguments.parameters` (like `argo submit -p`); `parallelism`
    overrides `spec.parallelism`; `retry_delay_scale` multiplies every wait the engine makes
    (retry backoff, suspend durations: 0 runs retries at once). Logs go to `log_dir/<task>.log`.
    `env` is the environment pods inherit (default: this process's; importing Airflow in-process
    may have changed it, so callers that split first should pass a copy taken before).
    `config_maps` (name -> data) are the ConfigMaps the namespace holds: semaphore limits are read
    from them (`config_maps_source` says where they came from, for messages).
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
    )
    return run.run()


def _rfc3339(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Job:
    """A task that passed depends and when: its processed template, waiting for or running a pod."""

    template: dict[str, Any]
    kind: str  # container or suspend
    retry: Optional[dict[str, Any]]
    state: str = "ready"  # ready, running, backoff, suspended
    due: float = 0.0  # monotonic time the backoff or suspension ends
    first_started: float = 0.0  # monotonic, for backoff.maxDuration
    waiting: str = ""  # Argo's message while the node waits for a synchronization lock


class _Run:
    """State of one run; only the scheduler thread touches it (workers talk through `events`)."""

    def __init__(
        self,
        workflow: Mapping[str, Any],
        *,
        split_dir: str,
        parameters: dict[str, str],
        parallelism: Optional[int],
        scale: float,
        log_dir: str,
        on_event: Optional[EventHandler],
        launcher: Optional[Launcher],
        grace_seconds: float,
        env: Optional[Mapping[str, str]] = None,
        config_maps: Optional[Mapping[str, Mapping[str, Any]]] = None,
        config_maps_source: str = "",
    ) -> None:
        self.workflow = copy.deepcopy(dict(workflow))
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
        self.parameters = self._global_parameters(parameters)
        self.globals = self._global_scope()
        self.locks = Locks(config_maps or {}, str(self.globals["workflow.namespace"]), config_maps_source)
        self.holding: set[str] = set()  # nodes holding their template's synchronization locks
        self.dag_template = self._entrypoint()
        dag = self.dag_template["dag"]
        self.tasks: dict[str, dict[str, Any]] = {}
        for task in dag.get("tasks") or []:
            self.tasks[task["name"]] = task
        self.dependencies: dict[str, list[str]] = {}
        self.logic: dict[str, str] = {}
        for name, task in self.tasks.items():
            try:
                self.dependencies[name], self.logic[name] = expr.task_depends(task, self.tasks)
            except expr.ExpressionError as error:
                raise WorkflowError(f"templates.{self.dag_template['name']}: {error}") from None
            for key in _UNSUPPORTED_TASK_FIELDS:
                if task.get(key) is not None:
                    raise WorkflowError(f"task {name!r} uses `{key}`, which bridge run does not support yet")
        self.targets = target_tasks(dag, self.dependencies)
        for target in self.targets:
            if target not in self.tasks:
                raise WorkflowError(f"dag.target names {target!r}, which is not a task of this DAG")
        # executeDAG only walks the targets and their ancestors.
        self.order = [name for name in self.tasks if name in self._with_ancestors(self.targets)]
        self.fail_fast = dag.get("failFast") is None or bool(dag.get("failFast"))
        self.max_pods = self._parallelism(parallelism)
        self.deadline_seconds = int_or_string(self.spec.get("activeDeadlineSeconds"), "spec.activeDeadlineSeconds")
        self.nodes: dict[str, NodeResult] = {}
        self.jobs: dict[str, _Job] = {}
        self.events: queue.Queue[tuple[str, int, PodOutcome, float, float]] = queue.Queue()
        self.cancel = threading.Event()
        self.threads: list[threading.Thread] = []
        self.started_wall = 0.0
        self.started_mono = 0.0

    # ---- set-up ------------------------------------------------------------------------------

    def _workflow_name(self) -> str:
        meta = self.workflow.get("metadata") or {}
        if meta.get("name"):
            return str(meta["name"])
        suffix = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(5))
        return f"{meta.get('generateName') or 'workflow-'}{suffix}"

    def _global_parameters(self, overrides: dict[str, str]) -> dict[str, str]:
        """spec.arguments.parameters with `-p` overrides; a parameter without a value is a submit error."""
        declared = (self.spec.get("arguments") or {}).get("parameters") or []
        names = {p["name"] for p in declared}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise WorkflowError(
                f"unknown workflow parameter(s) {', '.join(unknown)}; this Workflow declares: {', '.join(sorted(names))}"
            )
        values: dict[str, str] = {}
        for param in declared:
            name = param["name"]
            value = overrides[name] if name in overrides else as_string(param.get("value"))
            if value is None:
                raise WorkflowError(f"workflow parameter {name!r} has no value; pass it (argo submit -p {name}=...)")
            values[name] = str(value)
        return values

    def _global_scope(self) -> dict[str, Optional[str]]:
        meta = self.workflow.get("metadata") or {}
        scope: dict[str, Optional[str]] = {
            "workflow.name": self.name,
            "workflow.namespace": str(meta.get("namespace") or "default"),
            "workflow.uid": f"local-{self.name}",
            "workflow.mainEntrypoint": str(self.spec.get("entrypoint") or ""),
            "workflow.serviceAccountName": str(self.spec.get("serviceAccountName") or ""),
            "workflow.creationTimestamp": _rfc3339(time.time()),
        }
        for name, value in self.parameters.items():
            scope[f"workflow.parameters.{name}"] = value
        scope["workflow.parameters.json"] = json.dumps([{"name": k, "value": v} for k, v in self.parameters.items()])
        return scope

    def _entrypoint(self) -> dict[str, Any]:
        entry = self.spec.get("entrypoint")
        template = self.templates.get(str(entry))
        if template is None:
            raise WorkflowError(f"spec.entrypoint {entry!r} is not one of spec.templates")
        if template_kind(template) != "dag":
            raise WorkflowError(f"spec.entrypoint {entry!r} is a {template_kind(template)} template; bridge run runs DAGs")
        return template

    def _parallelism(self, override: Optional[int]) -> Optional[int]:
        limits = [
            override if override is not None else int_or_string(self.spec.get("parallelism"), "spec.parallelism"),
            int_or_string(self.dag_template.get("parallelism"), f"templates.{self.dag_template['name']}.parallelism"),
        ]
        positive = [limit for limit in limits if limit is not None and limit > 0]
        return min(positive) if positive else None

    def _with_ancestors(self, names: list[str]) -> set[str]:
        found: set[str] = set()
        stack = list(names)
        while stack:
            name = stack.pop()
            if name not in found:
                found.add(name)
                stack.extend(self.dependencies.get(name, []))
        return found

    # ---- the loop ----------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Drive the DAG until no node can change, then assess the phase."""
        self.started_wall, self.started_mono = time.time(), time.monotonic()
        os.makedirs(self.log_dir, exist_ok=True)
        self._emit("run-started", "")
        interrupted = False
        refused = self._acquire_workflow_locks()
        try:
            while not refused:
                self._drain(block=False)
                if self._advance():
                    continue
                if not self.jobs:
                    break
                if self._deadlocked():
                    continue
                self._drain(block=True, timeout=self._next_wakeup())
        except KeyboardInterrupt:
            interrupted = True
            self._stop()
        phase, message = ("Failed", refused) if refused else self._assess(interrupted)
        result = RunResult(
            workflow_name=self.name,
            phase=phase,
            message=message,
            nodes={name: self.nodes[name] for name in self.order if name in self.nodes},
            parameters=dict(self.parameters),
            started_at=self.started_wall,
            finished_at=time.time(),
            log_dir=self.log_dir,
            interrupted=interrupted,
        )
        self._emit("run-finished", "", message=message, result=result)
        return result

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

    def _acquire_node_locks(self, name: str) -> Optional[bool]:
        """The template's synchronization before its first pod: True held, False waiting, None errored."""
        sync = self.jobs[name].template.get("synchronization")
        if not sync or name in self.holding:
            return True
        try:
            waiting = self.locks.try_acquire(self._holder(name), sync)
        except LockError as error:
            self._finish(name, "Error", str(error))
            return None
        if waiting is not None:
            job = self.jobs[name]
            if not job.waiting:
                self._emit("waiting", name, message=waiting)
            job.waiting = waiting
            return False
        self.holding.add(name)
        return True

    def _deadlocked(self) -> bool:
        """Nothing runs or waits on a clock, yet nodes wait for locks: no one will release them.

        Argo would leave these nodes Pending forever; bridge run ends them in Error instead.
        """
        if any(job.state != "ready" for job in self.jobs.values()):
            return False
        for name in list(self.jobs):
            self._finish(name, "Error", f"{self.jobs[name].waiting or 'waiting'} (Argo would wait for this lock forever)")
        return True

    def _stop(self) -> None:
        """Ctrl-C: kill running pods (their nodes fail) and start nothing more, like `argo stop`."""
        self.cancel.set()
        for thread in self.threads:
            thread.join()
        self._drain(block=False)
        for name in list(self.jobs):
            self._finish(name, "Failed", "Stopped: the run was interrupted")

    def _assess(self, interrupted: bool) -> tuple[str, str]:
        if interrupted:
            return "Failed", "Stopped: the run was interrupted"
        phases = {name: node.phase for name, node in self.nodes.items()}
        continue_on = {name: task.get("continueOn") or {} for name, task in self.tasks.items()}
        phase = assess_dag_phase(
            {name: self.dependencies[name] for name in self.order},
            phases,
            self.targets,
            fail_fast=self.fail_fast,
            continue_on=continue_on,
        )
        if phase == "Running":
            stuck = [name for name in self.order if name not in self.nodes]
            return "Error", f"no progress possible; tasks never started: {', '.join(stuck)}"
        failed = [name for name, node in self.nodes.items() if node.phase in ("Failed", "Error")]
        if phase == "Succeeded":
            return phase, ""
        return phase, f"failed or errored tasks: {', '.join(failed)}" if failed else ""

    def _now(self) -> float:
        return time.monotonic()

    def _deadline(self) -> Optional[float]:
        """operator.go getWorkflowDeadline, on the monotonic clock."""
        if self.deadline_seconds is None:
            return None
        return self.started_mono + self.deadline_seconds

    def _deadline_passed(self) -> bool:
        deadline = self._deadline()
        return deadline is not None and self._now() >= deadline

    def _next_wakeup(self) -> Optional[float]:
        waits = [job.due - self._now() for job in self.jobs.values() if job.state in ("backoff", "suspended")]
        deadline = self._deadline()
        if deadline is not None:
            waits.append(deadline - self._now())
        if not waits:
            return None
        return max(0.0, min(waits))

    def _drain(self, *, block: bool, timeout: Optional[float] = None) -> None:
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
        """One pass over the tasks in DAG order; True when anything changed."""
        changed = False
        for name in self.order:
            job = self.jobs.get(name)
            if name not in self.nodes:
                changed |= self._consider(name)
            elif job is None:
                continue
            elif job.state == "suspended" and (self._now() >= job.due or self._deadline_passed()):
                if self._deadline_passed() and self._now() < job.due:
                    self._finish(name, "Failed", "Step exceeded its deadline")
                else:
                    self._finish(name, "Succeeded", "")
                changed = True
            elif job.state == "backoff" and self._now() >= job.due:
                changed |= self._after_attempt(name)
            elif job.state == "ready":
                changed |= self._start(name)
        return changed

    # ---- deciding a task (dag.go executeDAGTask) ---------------------------------------------

    def _consider(self, name: str) -> bool:
        """Once every dependency is fulfilled: depends -> Omitted, when -> Skipped, else a job."""
        deps = self.dependencies[name]
        if any(dep not in self.nodes or self.nodes[dep].phase not in FULFILLED for dep in deps):
            return False
        task = self.tasks[name]
        # Raw argument values until resolved: enough to name the Airflow task of a node that never ran.
        node = NodeResult(
            task=name, template=str(task.get("template") or ""), kind="Skipped", arguments=argument_values(task)
        )
        node.inputs = self._known_inputs(name, node.arguments)
        self.nodes[name] = node
        if self.logic[name]:
            results = {dep: expr.task_results(self.nodes[dep].phase) for dep in deps}
            try:
                execute = expr.evaluate_depends(self.logic[name], results)
            except expr.ExpressionError as error:
                return self._finish(name, "Error", str(error))
            if not execute:
                return self._finish(name, "Omitted", "omitted: depends condition not met")
        scope = self._local_scope(name)
        when = str(task.get("when") or "")
        if when:
            try:
                resolved = substitute(when, scope, STRICT)
                proceed = expr.evaluate_when(resolved)
            except (SubstitutionError, expr.ExpressionError) as error:
                return self._finish(name, "Error", self._unresolved(error))
            if not proceed:
                return self._finish(name, "Skipped", f"when '{resolved}' evaluated false")
        try:
            node.arguments = self._resolve_arguments(task, scope)
            template = self.templates.get(node.template)
            if template is None:
                raise WorkflowError(f"template {node.template!r} not found")
            kind = template_kind(template)
            if kind not in ("container", "suspend"):
                raise WorkflowError(f"template {node.template!r} is a {kind} template; bridge run runs container and suspend templates")
            processed = self._process_template(template, node.arguments, task)
        except (SubstitutionError, WorkflowError) as error:
            return self._finish(name, "Error", self._unresolved(error))
        retry = processed.get("retryStrategy") if kind == "container" else None
        self.jobs[name] = _Job(template=processed, kind=kind, retry=retry)
        node.kind = "Pod" if kind == "container" else "Suspend"
        if kind == "suspend":
            return self._suspend(name)
        return True

    def _unresolved(self, error: Exception) -> str:
        text = str(error)
        if "failed to resolve {{tasks." in text or "failed to resolve {{steps." in text:
            # dag.go requeues on a missing variable: Argo would wait forever; we stop with an error.
            return f"{text} (Argo would wait for this value forever)"
        return text

    def _local_scope(self, name: str) -> dict[str, Optional[str]]:
        """dag.go buildLocalScopeFromTask: globals plus every ancestor's status and outputs."""
        scope = dict(self.globals)
        for ancestor in sorted(self._with_ancestors([name]) - {name}):
            node = self.nodes.get(ancestor)
            if node is None:
                continue
            prefix = f"tasks.{ancestor}"
            scope[f"{prefix}.id"] = f"{self.name}-{ancestor}"
            scope[f"{prefix}.status"] = node.phase
            if node.started_at is not None:
                scope[f"{prefix}.startedAt"] = _rfc3339(node.started_at)
            if node.finished_at is not None:
                scope[f"{prefix}.finishedAt"] = _rfc3339(node.finished_at)
            if node.exit_code is not None:
                scope[f"{prefix}.exitCode"] = str(node.exit_code)
            if node.outputs is not None:
                for key, value in node.outputs.items():
                    scope[f"{prefix}.outputs.parameters.{key}"] = value
            elif node.phase in ("Skipped", "Omitted"):
                scope.update(self._skipped_outputs(ancestor))
        return scope

    def _skipped_outputs(self, name: str) -> dict[str, Optional[str]]:
        """scope.go addSkippedNodeOutputsToScope: declared outputs -> valueFrom.default, else absent (None)."""
        template = self.templates.get(str(self.tasks[name].get("template") or "")) or {}
        values: dict[str, Optional[str]] = {}
        for param in ((template.get("outputs") or {}).get("parameters")) or []:
            default = (param.get("valueFrom") or {}).get("default")
            values[f"tasks.{name}.outputs.parameters.{param['name']}"] = as_string(default)
        return values

    def _local_params(self, name: str) -> dict[str, Optional[str]]:
        """operator.go executeTemplate localParams for a DAG task's template (pod.name is not emulated)."""
        return {"tasks.name": name, "node.name": f"{self.name}.{name}"}

    def _known_inputs(self, name: str, arguments: Mapping[str, Optional[str]]) -> dict[str, Optional[str]]:
        """The template's input parameters from the arguments, else their defaults (locals substituted)."""
        template = self.templates.get(str(self.tasks[name].get("template") or "")) or {}
        scope = {**self.globals, **self._local_params(name)}
        inputs: dict[str, Optional[str]] = {}
        for param in ((template.get("inputs") or {}).get("parameters")) or []:
            value = arguments.get(param["name"])
            if value is None:
                default = as_string(param.get("value") if param.get("value") is not None else param.get("default"))
                try:
                    value = None if default is None else substitute(default, scope)
                except SubstitutionError:
                    value = default  # an expression tag: bridge run reports the error if the task runs
            inputs[param["name"]] = value
        return inputs

    def _resolve_arguments(self, task: Mapping[str, Any], scope: Mapping[str, Optional[str]]) -> dict[str, Optional[str]]:
        """dag.go resolveDependencyReferences for argument parameters (absent optionals -> sentinel)."""
        resolved: dict[str, Optional[str]] = {}
        for param in ((task.get("arguments") or {}).get("parameters")) or []:
            value = as_string(param.get("value"))
            if value is None:
                resolved[param["name"]] = None
                continue
            key = is_pure_reference(value)
            if key is not None and key in scope and scope[key] is None:
                resolved[param["name"]] = ABSENT
                continue
            resolved[param["name"]] = substitute(value, scope, STRICT)
        return resolved

    def _process_template(
        self, template: Mapping[str, Any], arguments: Mapping[str, Optional[str]], task: Mapping[str, Any]
    ) -> dict[str, Any]:
        """util.go ProcessArgs + SubstituteParams: inputs from arguments/defaults, then globals, then inputs."""
        tmpl = copy.deepcopy(dict(template))
        inputs = tmpl.get("inputs") or {}
        for param in inputs.get("parameters") or []:
            name = param["name"]
            value = as_string(param.get("value"))
            if value is None:
                value = as_string(param.get("default"))
            if name in arguments:
                supplied = arguments[name]
                if supplied == ABSENT:
                    if value is None:
                        raise WorkflowError(
                            f"inputs.parameters.{name}: argument references an absent optional "
                            "(skipped/omitted node output with no default)"
                        )
                elif supplied is not None:
                    value = supplied
            if value is None:
                raise WorkflowError(f"inputs.parameters.{name} was not supplied")
            param["value"] = value
        arg_artifacts = {a["name"]: a for a in ((task.get("arguments") or {}).get("artifacts")) or []}
        for index, art in enumerate(inputs.get("artifacts") or []):
            supplied = arg_artifacts.get(art["name"])
            if supplied is not None:
                merged = copy.deepcopy(supplied)
                merged["path"] = art.get("path")
                inputs["artifacts"][index] = merged
        tmpl = substitute_all(tmpl, {**self.globals, **self._local_params(str(task["name"]))})
        local = dict(self.globals)
        inputs = tmpl.get("inputs") or {}
        for param in inputs.get("parameters") or []:
            local[f"inputs.parameters.{param['name']}"] = as_string(param.get("value"))
        local["inputs.parameters"] = json.dumps(inputs.get("parameters") or [])
        for art in inputs.get("artifacts") or []:
            if art.get("path"):
                local[f"inputs.artifacts.{art['name']}.path"] = art["path"]
        for param in ((tmpl.get("outputs") or {}).get("parameters")) or []:
            path = (param.get("valueFrom") or {}).get("path")
            if path:
                local[f"outputs.parameters.{param['name']}.path"] = path
        return substitute_all(tmpl, local)

    # ---- suspend -----------------------------------------------------------------------------

    def _suspend(self, name: str) -> bool:
        """A suspend template: no pod; resumes after its (scaled) duration. No duration resumes at once."""
        job = self.jobs[name]
        node = self.nodes[name]
        node.started_at = time.time()
        duration = (job.template.get("suspend") or {}).get("duration")
        seconds = parse_duration(duration) * self.scale if duration not in (None, "") else 0.0
        job.state, job.due = "suspended", self._now() + max(0.0, seconds)
        if seconds <= 0:
            outputs = {}
            for param in ((job.template.get("outputs") or {}).get("parameters")) or []:
                outputs[param["name"]] = as_string((param.get("valueFrom") or {}).get("default"))
            node.outputs = outputs
            return self._finish(name, "Succeeded", "")
        return True

    # ---- pods --------------------------------------------------------------------------------

    def _running_pods(self) -> int:
        return sum(1 for job in self.jobs.values() if job.state == "running")

    def _start(self, name: str) -> bool:
        """Start the next attempt if parallelism allows (operator.go checkParallelism)."""
        job = self.jobs[name]
        node = self.nodes[name]
        if self._deadline_passed():
            # failNodesWithoutCreatedPodsAfterDeadlineOrShutdown: a node that could not get its pod.
            return self._finish(name, "Failed", "Step exceeded its deadline")
        if self.max_pods is not None and self._running_pods() >= self.max_pods:
            return False
        held = self._acquire_node_locks(name)
        if not held:
            return held is None
        try:
            pod = self._pod_spec(name, job.template, len(node.attempts) + 1)
            pod_deadline = self._pod_deadline(job.template)
        except WorkflowError as error:
            return self._finish(name, "Error", str(error))
        number = len(node.attempts) + 1
        node.log_path = node.log_path or os.path.join(self.log_dir, f"{name}.log")
        with open(node.log_path, "a", encoding="utf-8") as log:
            log.write(f"=== bridge run: {name} attempt {number} started {_rfc3339(time.time())} ===\n")
        started = time.time()
        if node.started_at is None:
            node.started_at = started
            job.first_started = self._now()
        job.state = "running"
        self._emit("started", name, attempt=number, log_path=node.log_path)
        log_path = node.log_path

        def work() -> None:
            try:
                outcome = self.launcher.run(pod, log_path=log_path, deadline=pod_deadline, cancel=self.cancel)
            except Exception as error:  # a launcher bug must not hang the scheduler
                outcome = PodOutcome(None, "StartError", f"launcher error: {error!r}", {})
            self.events.put((name, number, outcome, started, time.time()))

        thread = threading.Thread(target=work, name=f"bridge-run-{name}-{number}", daemon=True)
        self.threads.append(thread)
        thread.start()
        return True

    def _pod_deadline(self, template: Mapping[str, Any]) -> Optional[float]:
        """workflowpod.go: activeDeadlineSeconds = min(template's, template timeout, workflow time left)."""
        now = self._now()
        limits = []
        ads = int_or_string(template.get("activeDeadlineSeconds"), f"templates.{template.get('name')}.activeDeadlineSeconds")
        if ads is not None:
            limits.append(now + ads)
        if template.get("timeout"):
            limits.append(now + parse_duration(template["timeout"]))
        deadline = self._deadline()
        if deadline is not None:
            limits.append(deadline)
        return min(limits) if limits else None

    def _pod_spec(self, name: str, template: Mapping[str, Any], number: int) -> PodSpec:
        """The main container of one attempt, in container paths."""
        container = template.get("container") or {}
        command = [str(part) for part in container.get("command") or []]
        args = [str(part) for part in container.get("args") or []]
        if not command:
            raise WorkflowError(
                f"template {template.get('name')!r} has no container.command; bridge run cannot know the image's entrypoint"
            )
        files: dict[str, str] = {}
        for art in ((template.get("inputs") or {}).get("artifacts")) or []:
            raw = art.get("raw")
            if raw is not None:
                files[str(art["path"])] = str(raw.get("data") or "")
            elif not art.get("optional"):
                raise WorkflowError(
                    f"inputs.artifacts.{art['name']}: only raw artifacts are supported by bridge run"
                )
        outputs = tuple(
            str(p["valueFrom"]["path"])
            for p in ((template.get("outputs") or {}).get("parameters")) or []
            if (p.get("valueFrom") or {}).get("path")
        )
        return PodSpec(
            name=name if number == 1 else f"{name}({number - 1})",
            command=tuple(command),
            args=tuple(args),
            env=self._container_env(name, container),
            files=files,
            outputs=outputs,
            workdir=container.get("workingDir"),
            image=container.get("image"),
        )

    def _container_env(self, name: str, container: Mapping[str, Any]) -> dict[str, str]:
        """`env` values; secretKeyRef/configMapKeyRef come from this machine's environment variable of the same name.

        `envFrom` is ignored: the local process inherits this machine's environment, which is
        where a developer keeps AIRFLOW_CONN_* and AIRFLOW_VAR_* values.
        """
        env: dict[str, str] = {}
        for item in container.get("env") or []:
            key = item["name"]
            if "value" in item and item.get("valueFrom") is None:
                env[key] = as_string(item.get("value")) or ""
                if key in LOCAL_FILE_VARIABLES and key in self.local_env:
                    env[key] = self.local_env[key]  # the file a mounted Secret holds, on this machine
                continue
            source = item.get("valueFrom") or {}
            ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
            if ref is not None:
                if key in self.local_env:
                    env[key] = self.local_env[key]
                elif not ref.get("optional"):
                    kind = "secret" if "secretKeyRef" in source else "config map"
                    raise WorkflowError(
                        f"task {name!r}: env {key} comes from {kind} {ref.get('name')!r} key {ref.get('key')!r}; "
                        f"set {key} in this environment to run it locally"
                    )
                continue
            field_ref = (source.get("fieldRef") or {}).get("fieldPath")
            if field_ref == "metadata.name":
                env[key] = f"{self.name}-{name}"
            elif field_ref == "metadata.namespace":
                env[key] = self.globals["workflow.namespace"] or "default"
            elif key in self.local_env:
                env[key] = self.local_env[key]
        return env

    def _pod_finished(self, name: str, number: int, outcome: PodOutcome, started: float, finished: float) -> None:
        """A worker reported: record the attempt (executor.go SaveParameters), then retry or finish."""
        job = self.jobs[name]
        node = self.nodes[name]
        outputs, missing = self._output_parameters(job.template, outcome)
        if outcome.reason == "Completed":
            phase, message = ("Error", missing) if missing else ("Succeeded", "")
        elif outcome.reason == "StartError":
            phase, message = "Error", outcome.message
        else:
            phase, message = "Failed", outcome.message
        node.attempts.append(Attempt(number, phase, message, outcome.exit_code, started, finished))
        node.outputs = outputs
        node.exit_code = outcome.exit_code
        node.finished_at = finished
        job.state = "attempted"
        if outcome.reason == "Cancelled":
            self._finish(name, "Failed", message)
            return
        self._after_attempt(name)

    def _output_parameters(self, template: Mapping[str, Any], outcome: PodOutcome) -> tuple[dict[str, Optional[str]], str]:
        """executor.go SaveParameters: file text, else valueFrom.default; one trailing newline trimmed."""
        values: dict[str, Optional[str]] = {}
        missing = ""
        for param in ((template.get("outputs") or {}).get("parameters")) or []:
            source = param.get("valueFrom") or {}
            path = source.get("path")
            if not path:
                values[param["name"]] = as_string(source.get("default"))
                continue
            data = outcome.files.get(str(path))
            if data is not None:
                text: Optional[str] = data.decode("utf-8", errors="replace")
            else:
                text = as_string(source.get("default"))
                if text is None and not missing:
                    missing = f"output parameter {param['name']!r}: open {path}: no such file or directory"
            values[param["name"]] = None if text is None else (text[:-1] if text.endswith("\n") else text)
        return values, missing

    def _after_attempt(self, name: str) -> bool:
        """operator.go processNodeRetries for the last attempt: finish, wait (backoff) or run again."""
        job = self.jobs[name]
        node = self.nodes[name]
        last = node.attempts[-1]
        if last.phase == "Succeeded" or not job.retry:
            return self._finish(name, last.phase, last.message)
        retry = job.retry
        count = len(node.attempts)
        if self._deadline_passed():
            return self._finish(name, last.phase, "retry exceeded workflow deadline")
        limit = int_or_string(retry.get("limit"), "retryStrategy.limit")
        backoff = retry.get("backoff")
        now = self._now()
        if backoff:
            max_deadline: Optional[float] = None
            if backoff.get("maxDuration"):
                max_deadline = job.first_started + parse_duration(backoff["maxDuration"])
                if now > max_deadline:
                    return self._finish(name, last.phase, "Max duration limit exceeded")
            if not backoff.get("duration"):
                return self._finish(name, "Error", "no base duration specified for retryStrategy")
            wait = parse_duration(backoff["duration"])
            factor = int_or_string(backoff.get("factor"), "retryStrategy.backoff.factor")
            if factor is not None and factor > 0:
                wait = wait * factor ** (count - 1)
            if backoff.get("cap"):
                wait = min(wait, parse_duration(backoff["cap"]))
            real_wait = wait * self.scale
            waiting_deadline = self._finished_mono(last) + real_wait
            if max_deadline is not None and waiting_deadline > max_deadline:
                return self._finish(name, last.phase, "Backoff would exceed max duration limit")
            if job.state != "backoff" and now < waiting_deadline and limit is not None and count <= limit:
                # Argo waits out the backoff before it even looks at the retry policy.
                job.state, job.due = "backoff", waiting_deadline
                self._emit(
                    "retrying", name, attempt=count, message=last.message, exit_code=last.exit_code,
                    log_path=node.log_path, delay=real_wait, nominal_delay=wait,
                )
                return True
        policy = retry.get("retryPolicy") or ("OnFailure" if not retry.get("expression") else "Always")
        on_failed = policy in ("Always", "OnFailure")
        on_error = policy in ("Always", "OnError")
        if policy not in ("Always", "OnFailure", "OnError", "OnTransientError"):
            return self._finish(name, "Error", f"{policy} is not a valid RetryPolicy")
        if (last.phase == "Failed" and not on_failed) or (last.phase == "Error" and not on_error):
            return self._finish(name, last.phase, last.message)
        if limit is not None and count > limit:
            return self._finish(name, last.phase, "No more retries left")
        if retry.get("expression"):
            return self._finish(name, "Error", "retryStrategy.expression is not supported by bridge run")
        if job.state != "backoff":
            self._emit("retrying", name, attempt=count, message=last.message, exit_code=last.exit_code,
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

