"""The task file's DAG and the data interval of its run (the task runner's first Airflow steps).

Runs after `bridge.runtime.env` pointed Airflow at the throwaway home and database; Airflow
is imported inside the functions.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from bridge.runtime import compat
from bridge.version_compat import is_mapped


class TaskLoadError(Exception):
    """The task file does not give exactly one DAG with one task."""


def load_dag(task_file: str) -> tuple[Any, str]:
    """Parse the task file with Airflow's DagBag (cluster policies apply): (the one DAG, the task it runs)."""
    bag = compat.make_dagbag(task_file)
    if bag.import_errors:
        error = next(iter(bag.import_errors.values())).strip()
        raise TaskLoadError(f"{task_file}: the DAG file failed to import:\n{error}")
    if len(bag.dags) != 1:
        raise TaskLoadError(
            f"{task_file}: a task file must define exactly one DAG, found {len(bag.dags)} "
            f"({', '.join(sorted(bag.dags)) or 'none'}); re-run bridge split"
        )
    dag = next(iter(bag.dags.values()))
    task_id = target_task_id(dag, task_file)
    stand_ins = set(dag.task_dict) - {task_id}
    if stand_ins and not (is_mapped(dag.task_dict[task_id]) and stand_ins <= _ancestors(dag, task_id)):
        raise TaskLoadError(
            f"{task_file}: DAG {dag.dag_id!r} has {len(dag.task_dict)} tasks; a task file holds exactly one "
            "(a mapped task: plus upstream stand-ins)"
        )
    compat.store_dagbag(bag)
    return dag, task_id


def target_task_id(dag: Any, task_file: str) -> str:
    """The task the file runs: recorded by bridge.dagfile, else the DAG's only task."""
    from bridge.dagfile import TARGETS

    for path in (os.path.abspath(task_file), os.path.realpath(task_file)):
        if path in TARGETS and TARGETS[path] in dag.task_dict:
            return TARGETS[path]
    if len(dag.task_dict) != 1:
        raise TaskLoadError(
            f"{task_file}: DAG {dag.dag_id!r} has {len(dag.task_dict)} tasks; a task file holds exactly one"
        )
    return next(iter(dag.task_dict))


def _ancestors(dag: Any, task_id: str) -> set[str]:
    """Every task upstream of `task_id` in the DAG."""
    seen: set[str] = set()
    stack = list(dag.task_dict[task_id].upstream_task_ids)
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(dag.task_dict[current].upstream_task_ids)
    return seen


def data_interval(dag: Any, logical_date: datetime) -> tuple[datetime, datetime]:
    """The scheduled data interval when the date is on the DAG's schedule, else the manual-trigger one."""
    from airflow.timetables.base import TimeRestriction

    timetable = compat.core_timetable(dag)
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=logical_date, latest=logical_date, catchup=True),
    )
    if info is not None and info.logical_date == logical_date:
        return info.data_interval.start, info.data_interval.end
    interval = timetable.infer_manual_data_interval(run_after=logical_date)
    return interval.start, interval.end
