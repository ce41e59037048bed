"""A run's outcome in Airflow's vocabulary: one state per Airflow task, as `airflow dags test` reports."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bridge.local.result import NodeResult, RunResult
from bridge.semantics import STATE_OUTPUT, STATES_OUTPUT

# Node phase -> Airflow task state, for nodes that did not run to a verdict of their own.
_STATE_OF_PHASE = {"Failed": "failed", "Error": "failed", "Skipped": "skipped", "Omitted": "upstream_failed"}


def airflow_task_id(node: NodeResult, task_ids: Mapping[str, str] | None = None) -> str | None:
    """The Airflow task id a node runs: `task_ids` maps the DAG's task names to them (bridge split's
    plan, as `bridge run` passes it: the Workflow itself carries only the names), else input `task`,
    else `task-file` "<dag_id>/<task_id>.py"; None for others."""
    if task_ids and node.task in task_ids:
        return task_ids[node.task]
    if task_ids and "." in node.task:
        return None  # a step of the DAG a task ran (a templated native pod's render and pod steps)
    task = node.inputs.get("task") or node.arguments.get("task")
    if task:
        return task
    task_file = node.arguments.get("task-file")
    if task_file:
        _, _, tail = task_file.partition("/")
        tail = tail or task_file
        return tail[: -len(".py")] if tail.endswith(".py") else tail
    return None


def is_task_node(node: NodeResult, task_ids: Mapping[str, str] | None = None) -> bool:
    """Whether the node's phase is an Airflow task's: not bridge's verdict node, a DAG a task ran or
    a loop (Argo bookkeeping), but a DAG task of the plan that is a DAG (a templated native pod)."""
    if node.kind in ("Suspend", "DAG", "TaskGroup"):
        return node.kind == "DAG" and bool(task_ids) and node.task in (task_ids or {})
    return True


def airflow_state(node: NodeResult) -> str:
    """success, failed, skipped or upstream_failed for one node."""
    if node.phase == "Succeeded":
        # The runner's state output says whether the task ran (success) or skipped itself.
        state = (node.outputs or {}).get(STATE_OUTPUT)
        return state if state else "success"
    return _STATE_OF_PHASE.get(node.phase, "failed")


def _task_states(node: NodeResult) -> str | list[str]:
    """One state per node; a mapped task that expanded gives a list of its map indexes' states, in order."""
    if node.phase in ("Succeeded", "Failed", "Error"):
        try:
            states = json.loads((node.outputs or {}).get(STATES_OUTPUT) or "null")
        except ValueError:
            states = None
        # Not expanded (zero-length input, or no pod): Airflow keeps the one map index -1 instance.
        if isinstance(states, list) and states:
            return [str(state) for state in states]
    return airflow_state(node)


def report(run_result: RunResult, dag_id: str, run_date: str, task_ids: Mapping[str, str] | None = None) -> dict[str, Any]:
    """{"dag_id", "run_date", "state": success|failed, "tasks": {task_id: state}} for a finished run
    (`task_ids`: DAG task name -> Airflow task id, see airflow_task_id)."""
    tasks: dict[str, Any] = {}
    for node in run_result.nodes.values():
        if not is_task_node(node, task_ids):
            continue
        task_id = airflow_task_id(node, task_ids)
        if task_id is None:
            continue
        tasks[task_id] = _task_states(node)
    return {
        "dag_id": dag_id,
        "run_date": run_date,
        "state": "success" if run_result.phase == "Succeeded" else "failed",
        "tasks": tasks,
    }


def argo_nodes(run_result: RunResult, workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """The `status.nodes` Argo would store for this run (bridge.argo.status.node_status per node): the
    entry DAG, each task's node (a Retry node over its pods when the template retries) and the
    pods, with the run's real inputs, outputs, phases, times and messages. Nodes of the exit
    handler and of DAGs a task ran are counted as the entry DAG's are."""
    from bridge.argo.status import children, node_id, node_status
    from bridge.local.result import rfc3339

    spec = workflow.get("spec") or {}
    templates = {t["name"]: t for t in spec.get("templates") or []}
    entry = templates.get(spec.get("entrypoint", ""), {})
    name = run_result.workflow_name
    downstream = children((entry.get("dag") or {}).get("tasks") or [])
    after_another = {down for downs in downstream.values() for down in downs}

    def stamp(value: float | None) -> str | None:
        return None if value is None else rfc3339(value)

    roots = [key for key in run_result.nodes if "." not in key and key not in after_another]
    nodes = [node_status(name, name, kind="DAG", template=entry, phase=run_result.phase, display=name,
                         children=[node_id(name, f"{name}.{key}") for key in roots],
                         started=stamp(run_result.started_at), finished=stamp(run_result.finished_at))]
    for key, node in run_result.nodes.items():
        template = templates.get(node.template, {})
        full = f"{name}.{key}"
        after = [node_id(name, f"{name}.{down}") for down in sorted(downstream.get(key, ()))]
        kind = "Skipped" if node.kind == "Skipped" else node.kind
        inputs = {**node.inputs, **{k: v for k, v in node.arguments.items() if v is not None}}  # resolved
        common: dict[str, Any] = {"template": template, "boundary": name, "inputs": inputs, "outputs": node.outputs,
                                  "exit_code": node.exit_code}
        if kind == "Pod" and template.get("retryStrategy"):
            pods = [f"{full}({attempt.number - 1})" for attempt in node.attempts]
            nodes.append(node_status(name, full, kind="Retry", phase=node.phase, display=key, message=node.message,
                                     children=[node_id(name, pod) for pod in pods], started=stamp(node.started_at),
                                     finished=stamp(node.finished_at), **common))
            for pod, attempt in zip(pods, node.attempts):
                nodes.append(node_status(name, pod, kind="Pod", phase=attempt.phase, display=pod[len(name) + 1:],
                                         message=attempt.message, children=after if pod == pods[-1] else (),
                                         started=stamp(attempt.started_at), finished=stamp(attempt.finished_at), **common))
            continue
        nodes.append(node_status(name, full, kind=kind, phase=node.phase, display=key, message=node.message, children=after,
                                 started=stamp(node.started_at), finished=stamp(node.finished_at), **common))
    return nodes
