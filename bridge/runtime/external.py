"""ExternalTaskSensor on Argo: Airflow's own sensor, reading the other DAG's runs from the cluster.

Airflow's sensor asks its metadata database how many of the other DAG's task instances (or
DagRuns) for the logical dates it waits on are in given states. The throwaway database of a pod
holds none of them, so bridge answers that one question from the other DAG's Workflows in the
pod's namespace instead (the Kubernetes API, the pod's ServiceAccount: get/list workflows), and
leaves the rest to Airflow: `execution_delta`/`execution_date_fn`, allowed/failed/skipped states,
`soft_fail`, timeouts, poke and reschedule modes (docs/SCHEDULES.md, "Dependencies between DAGs").

The seams, read in the installed code: Airflow 3 (providers-standard `_poke_af3`) asks the task
runtime, `ti.get_ti_count(...)`/`ti.get_dr_count(...)`; Airflow 2 asks the sensor's own
`get_count(dttm_filter, session, states)` and `_check_for_existence(session)`.

A run of the other DAG is its Workflow labelled `bridge.dev/dag=<its Workflow name>` whose
logical date (annotation `bridge.dev/logical-date`, else its `run-date` parameter) is one waited
on; a task's state is its node's (bridge.argo.status.task_state), the run's the Workflow's phase.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from bridge.argo.status import run_state, task_state, workflow_nodes
from bridge.dates import parse_run_date
from bridge.names import WORKFLOW_PREFIX_MAX, argo_name, argo_name_candidates
from bridge.runtime import cluster
from bridge.version_compat import AIRFLOW_3

DAG_LABEL = "bridge.dev/dag"
LOGICAL_DATE = "bridge.dev/logical-date"
SENSOR_CLASS = "ExternalTaskSensor"
UTC = timezone.utc

Lister = Callable[[str], list[dict[str, Any]]]  # label selector -> the Workflows of the namespace


def is_external_sensor(task: Any) -> bool:
    """Airflow's ExternalTaskSensor (core on Airflow 2, the standard provider's) or a subclass."""
    return any(cls.__name__ == SENSOR_CLASS and cls.__module__.startswith("airflow.") for cls in type(task).__mro__)


def _state(value: Any) -> str:
    return str(getattr(value, "value", value))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def logical_date_of(workflow: dict[str, Any]) -> datetime | None:
    """A Workflow's logical date: what bridge submit annotated, else its run-date parameter."""
    text = ((workflow.get("metadata") or {}).get("annotations") or {}).get(LOGICAL_DATE)
    if not text:
        parameters = ((workflow.get("spec") or {}).get("arguments") or {}).get("parameters") or []
        text = next((p.get("value") for p in parameters if p.get("name") == "run-date"), None)
    if not text:
        return None
    try:
        return _utc(datetime.fromisoformat(str(text).replace("Z", "+00:00")))
    except ValueError:
        try:
            return _utc(parse_run_date(str(text)))
        except ValueError:
            return None


class WorkflowRuns:
    """The other DAGs' runs as the Workflows of this namespace."""

    def __init__(self, lister: Lister) -> None:
        self.lister = lister

    def runs(self, dag_id: str, logical_dates: Iterable[datetime] | None) -> list[dict[str, Any]]:
        """One Workflow per waited logical date (the newest, as Airflow has one DagRun per date)."""
        wanted = None if logical_dates is None else {_utc(d) for d in logical_dates}
        newest: dict[datetime, dict[str, Any]] = {}
        for workflow in self.lister(f"{DAG_LABEL}={argo_name(dag_id, WORKFLOW_PREFIX_MAX)}"):
            date = logical_date_of(workflow)
            if date is None or (wanted is not None and date not in wanted):
                continue
            stamp = str((workflow.get("metadata") or {}).get("creationTimestamp") or "")
            if date not in newest or stamp > str(newest[date]["metadata"].get("creationTimestamp") or ""):
                newest[date] = workflow
        return list(newest.values())

    def ti_count(self, dag_id: str, task_ids: Sequence[str], logical_dates: Iterable[datetime] | None, states: Iterable[Any]) -> int:
        """How many of the tasks' instances, over the runs, are in `states` (Airflow's TI count)."""
        wanted = {_state(s) for s in states}
        count = 0
        for workflow in self.runs(dag_id, logical_dates):
            name = str(workflow["metadata"]["name"])
            nodes = workflow_nodes(workflow)
            for task_id in task_ids:
                found = [task_state(nodes, name, candidate) for candidate in argo_name_candidates(task_id)]
                state = next((s for s in found if s is not None), None)
                count += state in wanted
        return count

    def dr_count(self, dag_id: str, logical_dates: Iterable[datetime] | None, states: Iterable[Any]) -> int:
        """How many of the runs are in `states` (Airflow's DagRun count)."""
        wanted = {_state(s) for s in states}
        return sum(run_state(workflow) in wanted for workflow in self.runs(dag_id, logical_dates))

    def exists(self, dag_id: str) -> bool:
        """Whether the other DAG has any run here (what the cluster can say of Airflow's 'the DAG exists')."""
        return bool(self.runs(dag_id, None))


def kube_lister() -> Lister:
    """List the namespace's Workflows through the Kubernetes API (in-cluster, else the kubeconfig)."""
    from kubernetes import client

    api = cluster.custom_objects()
    where = cluster.namespace()

    def lister(selector: str) -> list[dict[str, Any]]:
        try:
            listed = api.list_namespaced_custom_object(cluster.GROUP, cluster.VERSION, where, "workflows", label_selector=selector)
        except client.ApiException as error:
            raise RuntimeError(
                f"bridge: cannot list the Workflows {selector} in namespace {where!r}: {error.status} {error.reason}; "
                "the ServiceAccount of the Workflow's pods needs get, list on workflows.argoproj.io there"
            ) from None
        return list(listed.get("items") or [])

    return lister


def install(task: Any, source: WorkflowRuns | None = None) -> None:
    """Make the sensor read the other DAG's runs from the cluster (its class: Airflow runs a copy)."""
    runs = source or WorkflowRuns(_lazy(kube_lister))
    task.deferrable = False  # its trigger would ask the database too; poke/reschedule ask bridge
    cls = type(task)
    if AIRFLOW_3:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        def ti_count(dag_id: str, map_index: int | None = None, task_ids: list[str] | None = None,  # noqa: ARG001
                     task_group_id: str | None = None, logical_dates: list[datetime] | None = None,
                     run_ids: list[str] | None = None, states: list[str] | None = None) -> int:
            _refuse(task_group_id, run_ids)
            return runs.ti_count(dag_id, task_ids or [], logical_dates, states or [])

        def dr_count(dag_id: str, logical_dates: list[datetime] | None = None, run_ids: list[str] | None = None,
                     states: list[str] | None = None) -> int:
            _refuse(None, run_ids)
            return runs.dr_count(dag_id, logical_dates, states or [])

        RuntimeTaskInstance.get_ti_count = staticmethod(ti_count)
        RuntimeTaskInstance.get_dr_count = staticmethod(dr_count)
        return

    def get_count(self: Any, dttm_filter: Sequence[datetime], session: Any, states: Sequence[Any]) -> float:  # noqa: ARG001
        _refuse(self.external_task_group_id, None)
        if not dttm_filter:
            return 0
        if self.external_task_ids:
            return runs.ti_count(self.external_dag_id, list(self.external_task_ids), dttm_filter, states) / len(self.external_task_ids)
        return runs.dr_count(self.external_dag_id, dttm_filter, states)

    def check_for_existence(self: Any, session: Any) -> None:  # noqa: ARG001
        from airflow.exceptions import AirflowException

        if not runs.exists(self.external_dag_id):
            raise AirflowException(f"The external DAG {self.external_dag_id} does not exist (no Workflow of it in this namespace).")
        self._has_checked_existence = True

    cls.get_count = get_count
    cls._check_for_existence = check_for_existence


def _refuse(task_group_id: str | None, run_ids: Any) -> None:
    if task_group_id:
        raise NotImplementedError("bridge: an ExternalTaskSensor on a task group is not supported on Argo; name its task ids")
    if run_ids:
        raise NotImplementedError("bridge: waiting on run ids is not supported on Argo; wait on logical dates")


def _lazy(make: Callable[[], Lister]) -> Lister:
    """A lister made on its first call (no Kubernetes client for a sensor that never pokes)."""
    made: list[Lister] = []

    def lister(selector: str) -> list[dict[str, Any]]:
        if not made:
            made.append(make())
        return made[0](selector)

    return lister
