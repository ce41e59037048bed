"""Running the DagRun's one task: the scheduling loop of `airflow dags test`, or Airflow 2's backfill.

`run_task_inprocess` (the default) is `dag.test()`'s minimal loop with the task in this
process; `run_backfill` (`--mode backfill`, Airflow 2 only) is the BackfillJob reference.
Airflow is imported inside the functions.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from bridge.runtime.compat import run_task_inline, utcnow
from bridge.version_compat import AIRFLOW_3

log = logging.getLogger("bridge.runtime")

# dag.test() waits one second when nothing is runnable (sensor in reschedule mode); a task whose
# dependencies can never be met would loop forever, so stop after this many idle rounds.
MAX_IDLE_ROUNDS = 3


def _explain_stuck(ti: Any, session: Any) -> str:
    """Why a task instance cannot run (Airflow's own dependency report), on one line."""
    try:
        from airflow.ti_deps.dep_context import DepContext

        reasons = [s.reason for s in ti.get_failed_dep_statuses(dep_context=DepContext(), session=session)]
    except Exception as exc:  # noqa: BLE001 (only a diagnostic; never hide the real outcome)
        reasons = [f"(could not evaluate dependencies: {exc})"]
    return "; ".join(reasons) or "no reason reported"


def _fail_unfinished(ti: Any, session: Any) -> None:
    """After an error around the task's run, fail its instance if Airflow left it unfinished.

    What Airflow 3.0's own `_run_task` does with an error it catches; without it the instance
    stays scheduled and the loop would run it again, failing the same way, for ever.
    """
    from airflow.utils.state import State, TaskInstanceState

    ti.refresh_from_db(session=session)  # no rollback: Airflow 2 flushed the failure, the loop commits it
    if ti.state in State.finished or ti.state in (TaskInstanceState.UP_FOR_RETRY, TaskInstanceState.UP_FOR_RESCHEDULE):
        return
    log.error("task %r did not finish (state %s); marking it failed", ti.task_id, ti.state)
    ti.set_state(TaskInstanceState.FAILED, session=session)
    session.commit()


def run_task_inprocess(dag: Any, dag_run: Any, session: Any, *, attempt: int = 0) -> None:
    """Run the DagRun's one task the way `dag.test()` does: a minimal scheduling loop, task in-process.

    `attempt` is how many tries Argo already made (its `{{retries}}`): each task instance starts
    at try `attempt + 1`, and one that Airflow puts up_for_retry ends the loop (Argo starts the
    next pod) instead of running again in this one.
    """
    from airflow.utils.state import DagRunState, State, TaskInstanceState

    if AIRFLOW_3:
        from bridge.runtime.execution_api import prepare_execution_api

        prepare_execution_api()

    retry = TaskInstanceState.UP_FOR_RETRY
    idle = 0
    while dag_run.state == DagRunState.RUNNING:
        session.expire_all()
        # DAG-level callbacks belong to the whole Workflow, not to one pod: never run them here.
        schedulable, _ = dag_run.update_state(session=session, execute_callbacks=False)
        for ti in schedulable:
            if ti.state == retry:
                continue  # its next try is the next pod's
            if ti.state != TaskInstanceState.UP_FOR_RESCHEDULE:
                # The scheduler's increment, from the tries Argo made (a mapped task's new indexes too).
                ti.try_number = max(ti.try_number or 0, attempt) + 1
            ti.state = TaskInstanceState.SCHEDULED
            if AIRFLOW_3:
                ti.scheduled_dttm = utcnow()
        session.commit()
        all_tis = list(dag_run.get_task_instances(session=session))
        scheduled = [ti for ti in all_tis if ti.state == TaskInstanceState.SCHEDULED]
        waiting = [ti for ti in all_tis if ti.state not in State.finished and ti.state != retry and ti not in scheduled]
        if not scheduled and not waiting:
            return  # what is left waits for a retry: Argo's next pod
        if not scheduled:
            if all(ti.state is None for ti in waiting):
                idle += 1
                if idle >= MAX_IDLE_ROUNDS:
                    for ti in waiting:
                        log.error("task %r cannot start: %s", ti.task_id, _explain_stuck(ti, session))
                        ti.set_state(TaskInstanceState.FAILED, session=session)
                    session.commit()
                    return
            time.sleep(1)  # a sensor in reschedule mode waits for its next poke
        for ti in scheduled:
            idle = 0
            task = dag.get_task(ti.task_id)
            try:
                run_task_inline(ti, task, session)
            except Exception:
                log.exception("Task failed; ti=%s", ti)
                _fail_unfinished(ti, session)
            except BaseException as exc:
                # AirflowTaskTerminated (SIGTERM) is a BaseException; Airflow already ran on_kill,
                # the failure callbacks and recorded the state: finish the run and write outputs.
                if type(exc).__name__ != "AirflowTaskTerminated":
                    raise
                log.error("Task terminated by SIGTERM; ti=%s", ti)


def run_backfill(dag: Any, logical_date: datetime, conf: dict[str, Any]) -> None:
    """Airflow 2 reference: BackfillJob with the SequentialExecutor (each task an `airflow tasks run`)."""
    from airflow.executors.executor_loader import ExecutorLoader

    executor = ExecutorLoader.get_default_executor()
    if type(executor).__name__ != "SequentialExecutor":
        raise RuntimeError(f"backfill mode needs the SequentialExecutor, configured: {type(executor).__name__}")
    try:
        # What `airflow dags backfill -s D -e D` calls, plus run_at_least_once (no CLI flag) so
        # dates off the schedule and unscheduled DAGs still run once, on the DagRun we created.
        dag.run(start_date=logical_date, end_date=logical_date, conf=conf or None,
                run_at_least_once=True, disable_retry=True)
    except Exception:
        # BackfillJob raises when a task failed; the task state in the database tells the outcome.
        log.info("backfill reported a failure (see the task state)", exc_info=True)
