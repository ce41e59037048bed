"""TriggerDagRunOperator on Argo: Airflow's own operator, the DagRun it starts a Workflow of the cluster.

Airflow's operator asks its metadata database to create a DagRun of the other DAG (and, with
`wait_for_completion`, for that run's state until it is in `allowed_states` or `failed_states`).
The throwaway database of a pod runs nothing, so bridge creates the run where runs live on
Argo: a Workflow in the pod's namespace that runs the other DAG's WorkflowTemplate (`bridge
split --emit workflowtemplate`), named as `bridge submit` names runs (`bridge.names.run_name`:
the DAG and the logical date, so a retried task creates nothing twice), with run-date, run-id
and `conf` as its parameters. Everything else stays Airflow's: run id and logical date,
`skip_when_already_exists`, `reset_dag_run`, the poke loop, allowed/failed states, the
`trigger_run_id` XCom (docs/SCHEDULES.md, "Dependencies between DAGs").

The seams, read in the installed code. Airflow 3 (providers-standard 1.x `_trigger_dag_af_3`):
`execute` raises DagRunTriggerException; the task runner (`_handle_trigger_dag_run`, task SDK
1.3) sends TriggerDagRun, then GetDagRunState every poke_interval, which the supervisor answers
with `client.dag_runs.trigger/get_state`: bridge creates the Workflow when `execute` raises (so
a cluster error is the task's error, retried as any) and answers those two calls from it.
Airflow 2.11 (core operator): `execute` calls its module's `trigger_dag(...)` and polls
`dag_run.refresh_from_db()`: bridge replaces that function with one returning the Workflow's run.
`reset_dag_run` on an existing run reruns it as Airflow clears it (same run id and conf): the
Workflow is deleted and created again from its own arguments.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, cast

from bridge import rbac
from bridge.argo.status import run_state
from bridge.constants import ASSET_EVENTS_PARAMETER
from bridge.names import WORKFLOW_PREFIX_MAX, argo_name, run_name
from bridge.runtime import cluster
from bridge.version_compat import AIRFLOW_3

OPERATOR_CLASS = "TriggerDagRunOperator"
DAG_ID = "bridge.dev/dag-id"
LOGICAL_DATE = "bridge.dev/logical-date"
TRIGGERED_BY = "bridge.dev/triggered-by"
RUN_PARAMETERS = ("run-date", "run-id", ASSET_EVENTS_PARAMETER)  # a run's own, never conf
PERMISSIONS = rbac.describe(rbac.TRIGGER)
UTC = timezone.utc
_KEPT_METADATA = ("name", "labels", "annotations")


def is_trigger(task: Any) -> bool:
    """Airflow's TriggerDagRunOperator (core on Airflow 2, the standard provider's) or a subclass."""
    return any(cls.__name__ == OPERATOR_CLASS and cls.__module__.startswith("airflow.") for cls in type(task).__mro__)


class Objects:
    """The Argo objects of one namespace: get/create/delete, through the Kubernetes API."""

    def __init__(self, api: Any, where: str) -> None:
        self.api, self.where = api, where

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        from kubernetes import client

        try:
            return call()
        except client.ApiException as error:
            if error.status == 404:
                return None
            if error.status == 409:
                raise FileExistsError(what) from None
            raise RuntimeError(
                f"bridge: cannot {what} in namespace {self.where!r}: {error.status} {error.reason}; the "
                f"ServiceAccount of the Workflow's pods needs {PERMISSIONS} there"
            ) from None

    def get(self, plural: str, name: str) -> dict[str, Any] | None:
        return self._call(f"get {plural} {name!r}", lambda: self.api.get_namespaced_custom_object(
            cluster.GROUP, cluster.VERSION, self.where, plural, name))

    def create(self, body: dict[str, Any]) -> bool:
        """Create a Workflow; False when one of its name exists."""
        try:
            self._call(f"create workflows {body['metadata']['name']!r}", lambda: self.api.create_namespaced_custom_object(
                cluster.GROUP, cluster.VERSION, self.where, "workflows", body))
        except FileExistsError:
            return False
        return True

    def delete(self, name: str) -> None:
        self._call(f"delete workflows {name!r}", lambda: self.api.delete_namespaced_custom_object(
            cluster.GROUP, cluster.VERSION, self.where, "workflows", name, propagation_policy="Background"))


def kube_objects() -> Objects:
    return Objects(cluster.custom_objects(), cluster.namespace())


def parameter_value(value: Any) -> str:
    """A conf value as the Workflow parameter the target's pods read back (`--param`: JSON, else the
    plain string): a string that would parse as JSON is kept a string by encoding it."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, sort_keys=True)


def triggered_workflow(template: Mapping[str, Any], dag_id: str, run_id: str, logical_date: datetime,
                       conf: Mapping[str, Any] | None, triggered_by: str) -> dict[str, Any]:
    """The Workflow that runs DAG `dag_id`'s WorkflowTemplate for this run (pure).

    Labels and annotations are the template's (the DAG's: bridge's selectors find its runs by
    them), plus the logical date; its parameters are run-date, run-id and each conf key, which
    must be one of the DAG's params: on Argo a run's conf reaches its tasks as those."""
    declared = [str(p.get("name")) for p in ((template.get("spec") or {}).get("arguments") or {}).get("parameters") or []]
    params = [name for name in declared if name not in RUN_PARAMETERS]
    unknown = sorted(set(conf or {}) - set(params))
    if unknown:
        raise ValueError(
            f"bridge: conf keys {unknown} are not params of DAG {dag_id!r} (its params: {params}); on Argo a run's "
            "conf reaches its tasks as the DAG's params (the Workflow's parameters): declare them in the DAG"
        )
    metadata = template.get("metadata") or {}
    logical = logical_date.astimezone(UTC)
    annotations = {**(metadata.get("annotations") or {}), LOGICAL_DATE: logical.isoformat(), TRIGGERED_BY: triggered_by}
    parameters = [{"name": "run-date", "value": logical.isoformat()}, {"name": "run-id", "value": run_id}]
    parameters += [{"name": name, "value": parameter_value((conf or {})[name])} for name in params if name in (conf or {})]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": run_name(dag_id, logical), "labels": dict(metadata.get("labels") or {}), "annotations": annotations},
        "spec": {"workflowTemplateRef": {"name": str(metadata.get("name"))}, "arguments": {"parameters": parameters}},
    }


def rerun_of(existing: Mapping[str, Any]) -> dict[str, Any]:
    """The same run started again (Airflow's clear: its run id and conf kept): the Workflow's own
    name, labels, annotations and spec, without what the API server and the controller added."""
    metadata = {key: value for key, value in (existing.get("metadata") or {}).items() if key in _KEPT_METADATA}
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if not k.startswith("workflows.argoproj.io/")}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {**metadata, "labels": labels},
            "spec": dict(existing.get("spec") or {})}


class ClusterRuns:
    """The other DAGs' runs as Workflows of this namespace: trigger one, read its state."""

    def __init__(self, objects: Callable[[], Objects], triggered_by: str, wait: float = 1.0, patience: float = 120.0) -> None:
        self._objects = objects
        self._made: Objects | None = None  # made on first use: no client for a task that never triggers
        self.triggered_by, self.wait, self.patience = triggered_by, wait, patience
        self.names: dict[tuple[str, str], str] = {}  # (dag id, run id) -> its Workflow

    @property
    def objects(self) -> Objects:
        if self._made is None:
            self._made = self._objects()
        return self._made

    def trigger(self, dag_id: str, run_id: str, logical_date: datetime, conf: Mapping[str, Any] | None, reset: bool) -> bool:
        """Create the run's Workflow; True when created (or, with `reset`, started again), False
        when a run of the DAG at this logical date exists (Airflow's DagRunAlreadyExists)."""
        template_name = argo_name(dag_id, WORKFLOW_PREFIX_MAX)
        template = self.objects.get("workflowtemplates", template_name)
        if template is None or (template.get("metadata") or {}).get("annotations", {}).get(DAG_ID) != dag_id:
            raise RuntimeError(
                f"bridge: no WorkflowTemplate {template_name!r} of DAG {dag_id!r} in namespace {self.objects.where!r}: "
                f"split that DAG with --emit workflowtemplate and apply workflowtemplates/{template_name}.yaml"
            )
        body = triggered_workflow(template, dag_id, run_id, logical_date, conf, self.triggered_by)
        name = body["metadata"]["name"]
        self.names[(dag_id, run_id)] = name
        existing = None
        for _ in range(3):  # a Workflow deleted between the create and the read: create it again
            if self.objects.create(body):
                print(f"bridge: created Workflow {name!r} (DAG {dag_id!r}, run {run_id!r})", file=sys.stderr)
                return True
            if not reset:
                return False
            existing = self.objects.get("workflows", name)
            if existing is not None:
                break
        if existing is None:
            raise RuntimeError(f"bridge: Workflow {name!r} exists when created and is gone when read (three times)")
        self.objects.delete(name)
        rerun = rerun_of(existing)
        deadline = time.monotonic() + self.patience
        while not self.objects.create(rerun):  # the API server removes it once Argo's finalizers are done
            if time.monotonic() > deadline:
                raise RuntimeError(f"bridge: Workflow {name!r} was deleted to rerun it (reset_dag_run) but is still there")
            time.sleep(self.wait)
        print(f"bridge: reran Workflow {name!r} (reset_dag_run: deleted and created again)", file=sys.stderr)
        return True

    def state(self, dag_id: str, run_id: str) -> str:
        """The run's DagRun state from its Workflow's phase (bridge.argo.status.run_state)."""
        name = self.names.get((dag_id, run_id))
        workflow = self.objects.get("workflows", name) if name else None
        if workflow is None:
            raise RuntimeError(f"bridge: the Workflow of DAG {dag_id!r} run {run_id!r} ({name}) is gone (deleted, or a TTL)")
        return run_state(workflow)


def _when(*dates: datetime | None) -> datetime:
    """The run's date: its logical date, else its run_after (Airflow 3 allows none), else now."""
    return next((d for d in dates if d is not None), None) or datetime.now(UTC)


def install(task: Any, runs: ClusterRuns | None = None) -> None:
    """Make the operator's DagRun a Workflow of the cluster (on its class: Airflow runs a copy)."""
    runs = runs or ClusterRuns(kube_objects, triggered_by=f"{task.dag_id}.{task.task_id}")
    task.deferrable = False  # its trigger would ask the database; the poke loop asks bridge
    if hasattr(task, "_defer"):
        task._defer = False  # Airflow 2.11's name for it
    cls = type(task)
    if AIRFLOW_3:
        _install_af3(cls, runs)
    else:
        _install_af2(cls, runs)


def _install_af3(cls: Any, runs: ClusterRuns) -> None:
    from airflow.providers.common.compat.sdk import DagRunTriggerException  # what the operator raises, on every 3.x
    from airflow.sdk.api import client
    from airflow.sdk.api.datamodels._generated import DagRunStateResponse
    from airflow.sdk.exceptions import ErrorType
    from airflow.sdk.execution_time.comms import ErrorResponse, OKResponse

    created: dict[tuple[str, str], bool] = {}
    original = cls.execute

    def execute(self: Any, context: Any, **kwargs: Any) -> Any:
        try:
            return original(self, context, **kwargs)
        except DagRunTriggerException as drte:
            when = _when(drte.logical_date, getattr(drte, "run_after", None))
            created[(drte.trigger_dag_id, drte.dag_run_id)] = runs.trigger(
                drte.trigger_dag_id, drte.dag_run_id, when, drte.conf, drte.reset_dag_run)
            raise

    def trigger(self: Any, dag_id: str, run_id: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ARG001
        if created.pop((dag_id, run_id), True):
            return OKResponse(ok=True)
        return ErrorResponse(error=ErrorType.DAGRUN_ALREADY_EXISTS)

    def get_state(self: Any, dag_id: str, run_id: str) -> Any:  # noqa: ARG001
        return DagRunStateResponse(state=runs.state(dag_id, run_id))

    cls.execute = execute
    client.DagRunOperations.trigger = trigger
    client.DagRunOperations.get_state = get_state


class _TriggeredRun:
    """What Airflow 2's operator reads of the DagRun `trigger_dag` returns: its ids, date and state."""

    def __init__(self, runs: ClusterRuns, dag_id: str, run_id: str, logical_date: datetime) -> None:
        self.runs, self.dag_id, self.run_id = runs, dag_id, run_id
        self.logical_date = self.execution_date = logical_date
        self.state = "queued"

    def refresh_from_db(self, *_args: Any, **_kwargs: Any) -> None:
        self.state = self.runs.state(self.dag_id, self.run_id)


def _install_af2(cls: Any, runs: ClusterRuns) -> None:
    from airflow.exceptions import DagRunAlreadyExists

    module = sys.modules[next(c for c in cls.__mro__ if c.__name__ == OPERATOR_CLASS).__module__]
    reset = {"value": False}
    original = cls.execute

    def execute(self: Any, context: Any, **kwargs: Any) -> Any:
        reset["value"] = bool(self.reset_dag_run)  # a reset is done here, as Airflow 3's client does it
        return original(self, context, **kwargs)

    def trigger_dag(dag_id: str, run_id: str | None = None, conf: Any = None, execution_date: datetime | None = None,
                    replace_microseconds: bool = True) -> _TriggeredRun:
        when = _when(execution_date)
        if replace_microseconds:
            when = when.replace(microsecond=0)
        if isinstance(conf, str):
            conf = json.loads(conf)
        run = _TriggeredRun(runs, dag_id, str(run_id), when)
        if not runs.trigger(dag_id, str(run_id), when, conf, reset["value"]):
            raise DagRunAlreadyExists(dag_run=cast(Any, run), execution_date=when, run_id=str(run_id))
        return run

    cls.execute = execute
    setattr(module, "trigger_dag", trigger_dag)  # noqa: B010 (the operator's module-level name)
