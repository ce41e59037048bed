"""A run's outcome in Airflow's vocabulary: one state per Airflow task, as `airflow dags test` reports."""

from __future__ import annotations

import json
from typing import Any

from bridge.local.result import NodeResult, RunResult
from bridge.semantics import STATE_OUTPUT, STATES_OUTPUT

# Node phase -> Airflow task state, for nodes that did not run to a verdict of their own.
_STATE_OF_PHASE = {"Failed": "failed", "Error": "failed", "Skipped": "skipped", "Omitted": "upstream_failed"}


def airflow_task_id(node: NodeResult) -> str | None:
    """The Airflow task id a node runs: input `task` (bridge omits the argument when the task id is
    the DAG task's name, the input's default `{{tasks.name}}`), else `task-file`
    "<dag_id>/<task_id>.py"; None for others."""
    task = node.inputs.get("task") or node.arguments.get("task")
    if task:
        return task
    task_file = node.arguments.get("task-file")
    if task_file:
        _, _, tail = task_file.partition("/")
        tail = tail or task_file
        return tail[: -len(".py")] if tail.endswith(".py") else tail
    return None


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


def report(run_result: RunResult, dag_id: str, run_date: str) -> dict[str, Any]:
    """{"dag_id", "run_date", "state": success|failed, "tasks": {task_id: state}} for a finished run."""
    tasks: dict[str, Any] = {}
    for node in run_result.nodes.values():
        if node.kind in ("Suspend", "DAG", "TaskGroup"):
            continue  # bridge's verdict node, a DAG a task ran, a loop: Argo bookkeeping, not Airflow tasks
        task_id = airflow_task_id(node)
        if task_id is None:
            continue
        tasks[task_id] = _task_states(node)
    return {
        "dag_id": dag_id,
        "run_date": run_date,
        "state": "success" if run_result.phase == "Succeeded" else "failed",
        "tasks": tasks,
    }
