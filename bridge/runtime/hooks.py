"""Capture what branching and short-circuit operators decide, in a DAG that holds only them.

A single-task DAG has no downstream tasks, so Airflow's own skip logic has nothing to
skip and would reject the chosen ids as unknown. bridge replaces the decision step of
`BranchMixIn.do_branch` with one that validates and expands ids against the ORIGINAL
DAG (imported by `bridge.dagfile`), pushes the same `skipmixin_key` XCom Airflow
pushes, and records the decision for `outputs/branch`; Argo does the skipping.
Patches are class-level (the classes in the task's own hierarchy) so they survive
Airflow's per-run copy of the operator, and reach `airflow tasks run` subprocesses
(backfill mode) through a task policy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

# Where the decision is recorded; set by the runner (a file, so subprocesses can write it).
BRANCH_RECORD_ENV = "BRIDGE_BRANCH_RECORD"
_SKIPMIXIN_KEY = "skipmixin_key"


def record_decision(followed: list[str] | None) -> None:
    """Write the followed task ids (None: no decision) where the runner reads them."""
    path = os.environ.get(BRANCH_RECORD_ENV)
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(followed, handle)


def read_decision(path: str) -> list[str] | None:
    """The recorded decision, None when the operator recorded none."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _as_list(branches: Any) -> list[Any]:
    """Airflow's accepted shapes: None, one id, or an iterable of ids."""
    if branches is None:
        return []
    if isinstance(branches, str) or not isinstance(branches, Iterable):
        return [branches]
    return list(branches)


def expand_and_validate(dag: Any, branches: Any) -> list[str]:
    """Task-group ids -> their root task ids; reject non-strings and unknown ids with Airflow's messages."""
    from bridge.runtime.compat import airflow_exception

    exc = airflow_exception()
    items = _as_list(branches)
    bad_types = {(item, type(item).__name__) for item in items if not isinstance(item, str)}
    if bad_types:
        raise exc(f"'branch_task_ids' expected all task IDs are strings. Invalid tasks found: {bad_types}.")
    followed: list[str] = []
    for item in items:
        group = dag.task_group_dict.get(item)
        if group is not None:
            followed.extend(root.task_id for root in group.roots)
        else:
            followed.append(item)
    invalid = set(followed) - set(dag.task_ids)
    if invalid:
        raise exc(f"'branch_task_ids' must contain only valid task_ids. Invalid tasks found: {invalid}.")
    return sorted(set(followed))


def _do_branch(self: Any, context: Any, branches_to_execute: Any) -> Any:
    """BranchMixIn.do_branch for a single-task DAG: decide against the original DAG, skip nothing here."""
    from bridge import dagfile

    self.log.info("Branch into %s", branches_to_execute)
    dag = dagfile.original_dag(self.dag_id) or self.dag
    followed = expand_and_validate(dag, branches_to_execute)
    self.log.info("Following branch %s", set(followed))
    full_task = dag.task_dict.get(self.task_id)
    if full_task is not None and full_task.downstream_list:
        # The XCom Airflow's skip_all_except pushes (read by NotPreviouslySkippedDep on clear).
        flat = set(followed)
        for task_id in followed:
            flat.update(dag.get_task(task_id).get_flat_relative_ids(upstream=False))
        follow_ids = sorted(t.task_id for t in full_task.downstream_list if t.task_id in flat)
        context["ti"].xcom_push(key=_SKIPMIXIN_KEY, value={"followed": follow_ids})
    record_decision(followed)
    return branches_to_execute


def _wrap_short_circuit(execute: Any) -> Any:
    """ShortCircuitOperator.execute that records: truthy -> all direct downstream ids, falsy -> []."""

    def execute_and_record(self: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        from bridge import dagfile

        condition = execute(self, context, *args, **kwargs)
        dag = dagfile.original_dag(self.dag_id) or self.dag
        full_task = dag.task_dict.get(self.task_id)
        downstream = sorted(full_task.downstream_task_ids) if full_task is not None else []
        record_decision(downstream if condition else [])
        return condition

    execute_and_record._bridge = True  # type: ignore[attr-defined]
    return execute_and_record


def instrument(task: Any) -> None:
    """Patch the branch/short-circuit classes in the task's class hierarchy (once each), SIGTERM and the links."""
    from bridge.runtime import compat, links

    classes: tuple[Any, ...] = type(task).__mro__  # patched below: typed as Any, not as `type`
    for cls in classes:
        # By name: BranchMixIn exists in core, the SDK and the standard provider.
        if cls.__name__ == "BranchMixIn" and cls.__dict__.get("do_branch") is not _do_branch:
            cls.do_branch = _do_branch
        elif cls.__name__ == "ShortCircuitOperator" and not getattr(cls.__dict__.get("execute"), "_bridge", False):
            cls.execute = _wrap_short_circuit(cls.__dict__["execute"])
    compat.install_sigterm_failure()
    links.install()  # ti.log_url: the Argo UI, not an Airflow webserver (bridge/runtime/links.py)


def task_policy(task: Any) -> None:
    """Airflow cluster-policy hook used in backfill mode's `airflow tasks run` processes."""
    instrument(task)


LOCAL_SETTINGS = '''"""Written by bridge-task: installs the branch/short-circuit hooks in Airflow subprocesses."""
from bridge.runtime.hooks import task_policy  # noqa: F401
'''
