"""Support code imported by the single-task DAG files that `bridge split` writes.

A generated file calls `single_task_dag(__file__, ...)` at import time: the original
DAG file is imported, and Airflow's own `partial_subset` keeps the one task. This
module runs inside every task pod, so it imports only what it needs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

from bridge.version_compat import AIRFLOW_3, is_mapped

_SOURCE_MODULE_PREFIX = "bridge_source_"

# Task file (absolute path) -> the task it runs. A mapped task's file also keeps its direct
# upstream tasks as stand-ins (Airflow expands the task from their XComs; the runner marks
# them success and never runs them), so the runner cannot assume the DAG's only task.
TARGETS: dict[str, str] = {}


def _dag_context() -> Any:
    """Airflow's DagContext (auto-registration of DAGs built in `with` blocks)."""
    if AIRFLOW_3:
        from airflow.sdk.definitions._internal.contextmanager import DagContext

        return DagContext
    from airflow.models.dag import DagContext as Airflow2DagContext

    return Airflow2DagContext


def _import_source(path: str, dags_folder: str) -> ModuleType:
    """Import the original DAG file once per process, under a stable private name."""
    digest = hashlib.sha256(path.encode()).hexdigest()[:12]
    name = _SOURCE_MODULE_PREFIX + digest
    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"bridge: cannot import DAG source {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    if dags_folder not in sys.path:  # as Airflow puts the dags folder on sys.path
        sys.path.insert(0, dags_folder)
    context = _dag_context()
    before = set(context.autoregistered_dags)
    previous_name = context.current_autoregister_module_name
    context.current_autoregister_module_name = name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        # DAGs of the source file would be attributed to the task file being parsed;
        # keep them aside for DAGs that a factory built without binding a global.
        created = [dag for dag, _ in set(context.autoregistered_dags) - before]
        context.current_autoregister_module_name = previous_name
        context.autoregistered_dags.clear()
        context.autoregistered_dags.update(before)
    module.__dict__["__bridge_autoregistered__"] = created
    return module


def _find_dag(module: ModuleType, dag_id: str, path: str) -> Any:
    """The DAG object with `dag_id` defined by the imported source module."""
    for value in list(vars(module).values()):
        if getattr(value, "dag_id", None) == dag_id and hasattr(value, "partial_subset"):
            return value
    # DAGs built in a factory and never bound to a module global.
    for value in vars(module).get("__bridge_autoregistered__", []):
        if getattr(value, "dag_id", None) == dag_id:
            return value
    raise ImportError(f"bridge: {path} defines no DAG with dag_id {dag_id!r}")


def original_dag(dag_id: str) -> Any:
    """The full DAG `dag_id` that a task file of this process imported (via `single_task_dag`), or None."""
    for name, module in list(sys.modules.items()):
        if not name.startswith(_SOURCE_MODULE_PREFIX) or module is None:
            continue
        try:
            return _find_dag(module, dag_id, name)
        except ImportError:
            continue
    return None


def _stand_ins(dag: Any, task: Any) -> set[str]:
    """The upstream tasks a mapped task's file keeps: its direct upstreams, and theirs while mapped.

    A mapped upstream (second-order mapping) is only readable (serialized DAG) with its own upstreams.
    """
    keep: set[str] = set()
    frontier = [task] if is_mapped(task) else []
    while frontier:
        for up in frontier.pop().upstream_task_ids:
            if up not in keep:
                keep.add(up)
                if is_mapped(dag.task_dict[up]):
                    frontier.append(dag.task_dict[up])
    return keep


def _trim_to(dag: Any, keep: set[str]) -> None:
    """Drop the neighbours that partial_subset keeps, leaving the tasks in `keep`."""
    extra = [tid for tid in dag.task_dict if tid not in keep]
    if not extra:
        return
    for tid in extra:
        task = dag.task_dict.pop(tid)
        group = getattr(task, "task_group", None)
        if group is not None:
            group.children.pop(tid, None)
    for task in dag.task_dict.values():
        task.upstream_task_ids.intersection_update(dag.task_dict)
        task.downstream_task_ids.intersection_update(dag.task_dict)


def single_task_dag(
    task_file: str,
    *,
    source: str,
    dag_id: str,
    task_id: str,
    dags_folder: str | None = None,
    template_searchpath: tuple[str, ...] | None = None,
) -> Any:
    """Return the DAG `dag_id` of `source` reduced to the one task `task_id`.

    Paths are relative to the task file: `source` the DAG file, `dags_folder` the project's dags
    folder (put on sys.path; default: the DAG file's folder), `template_searchpath` the carried
    folders standing for the DAG's own entries, in order (docs/DESIGN.md, "Projects").
    """
    here = os.path.dirname(os.path.abspath(task_file))
    path = os.path.normpath(os.path.join(here, source))
    root = os.path.normpath(os.path.join(here, dags_folder)) if dags_folder else os.path.dirname(path)
    module = _import_source(path, root)
    dag = _find_dag(module, dag_id, path)
    if task_id not in dag.task_dict:
        raise ImportError(f"bridge: DAG {dag_id!r} in {path} has no task {task_id!r}; re-run bridge split")
    original = dag.task_dict[task_id]
    mapped = is_mapped(original)
    # A mapped task keeps its direct upstreams: Airflow resolves the expand input through them.
    sub = dag.partial_subset([task_id], include_downstream=False, include_upstream=mapped)
    _trim_to(sub, _stand_ins(dag, original) | {task_id})
    task = sub.task_dict[task_id]
    if mapped and not getattr(original.expand_input, "value", True):
        # TaskFlow mapped tasks keep Airflow's shared empty expand input, which Airflow checks by
        # identity; partial_subset's deep copy made a new one.
        task.expand_input = original.expand_input
    # Airflow's "argument not set" sentinel (NOTSET) is checked by identity too (e.g.
    # TriggerDagRunOperator's `logical_date`/`run_after`): the deep copy's attributes get it back.
    for name, value in vars(original).items():
        if type(value).__name__ == "ArgNotSet":
            setattr(task, name, value)
    # The task keeps its retries: Airflow decides up_for_retry or failed from `retries` and the try
    # number bridge-task gives it (`--attempt`); the pod's exit code tells Argo (docs/SEMANTICS.md).
    # DAG-level callbacks run once per run, in the Workflow's exit handler (bridge-task dag-callback),
    # never in a task pod; Airflow 3's update_state would even build a callback request for them
    # from ORM rows the in-process loop has detached.
    sub.on_success_callback = sub.on_failure_callback = None
    sub.has_on_success_callback = sub.has_on_failure_callback = False
    # Airflow's Jinja loader searches the DAG file's folder, then template_searchpath; the subset's
    # own folder is the task file's, so the DAG file's folder is named first.
    if template_searchpath is None:
        own = sub.template_searchpath or []
        entries = [own] if isinstance(own, str) else list(own)
    else:
        entries = [os.path.normpath(os.path.join(here, entry)) for entry in template_searchpath]
    sub.template_searchpath = [os.path.dirname(path), *entries]
    sub.fileloc = os.path.abspath(task_file)
    TARGETS[sub.fileloc] = task_id
    return sub
