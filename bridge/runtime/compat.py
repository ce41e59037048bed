"""Airflow 2 / Airflow 3 differences for the task runner, behind one small interface.

Everything here is imported only after `bridge.runtime.env` pointed Airflow at the
throwaway home and database; Airflow imports stay inside the functions.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from bridge.runtime.env import airflow_major
from bridge.runtime.xcom import XComRow

log = logging.getLogger("bridge.runtime")

AIRFLOW_3 = airflow_major() >= 3

# The bundle every DAG of this throwaway Airflow belongs to (Airflow 3's default bundle name).
BUNDLE_NAME = "dags-folder"

# dag.test() waits one second when nothing is runnable (sensor in reschedule mode); a task whose
# dependencies can never be met would loop forever, so stop after this many idle rounds.
MAX_IDLE_ROUNDS = 3


def utcnow() -> datetime:
    """Aware UTC now (pendulum, as Airflow's own timestamps are)."""
    import pendulum

    return pendulum.now("UTC")


class TaskLoadError(Exception):
    """The task file does not give exactly one DAG with one task."""


# ---------------------------------------------------------------------------- database


def migrate_database() -> None:
    """Create the schema in the configured (empty) SQLite file, as `airflow db migrate` does."""
    from airflow.utils import db

    if AIRFLOW_3:
        db.upgradedb()
        from airflow.dag_processing.bundles.manager import DagBundlesManager

        DagBundlesManager().sync_bundles_to_db()
    else:
        db.upgradedb(reserialize_dags=False)


def _register_user_model() -> None:
    """Airflow 2: TaskInstanceNote has a foreign key to FAB's `ab_user`, whose model must be imported."""
    for module in ("airflow.providers.fab.auth_manager.models", "airflow.auth.managers.fab.models"):
        try:
            __import__(module)
            return
        except ImportError:
            continue


def session_scope() -> Any:
    """Airflow's `create_session()` context manager."""
    from airflow.utils.session import create_session

    if not AIRFLOW_3:
        _register_user_model()

    return create_session()


# ---------------------------------------------------------------------------- loading


def load_dag(task_file: str) -> tuple[Any, str]:
    """Parse the task file with Airflow's DagBag (cluster policies apply): (the one DAG, the task it runs)."""
    if AIRFLOW_3:
        import os

        from airflow.dag_processing.dagbag import BundleDagBag

        bag = BundleDagBag(
            dag_folder=task_file,
            bundle_path=os.path.dirname(task_file),
            bundle_name=BUNDLE_NAME,
            safe_mode=False,
            load_op_links=False,
        )
    else:
        from airflow.models.dagbag import DagBag

        bag = DagBag(dag_folder=task_file, include_examples=False, safe_mode=False, load_op_links=False)
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
    if AIRFLOW_3:
        from airflow.dag_processing.dagbag import sync_bag_to_db

        # The execution API looks the DAG up by version, as the DAG processor would have stored it.
        sync_bag_to_db(bag, BUNDLE_NAME, None)
    return dag, task_id


def target_task_id(dag: Any, task_file: str) -> str:
    """The task the file runs: recorded by bridge.dagfile, else the DAG's only task."""
    import os

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


def is_mapped(task: Any) -> bool:
    """Whether the task is dynamically mapped (a MappedOperator: `.expand()`)."""
    if AIRFLOW_3:
        from airflow.sdk.definitions.mappedoperator import MappedOperator
    else:
        from airflow.models.mappedoperator import MappedOperator  # type: ignore[no-redef]
    return isinstance(task, MappedOperator)


def data_interval(dag: Any, logical_date: datetime) -> tuple[datetime, datetime]:
    """The scheduled data interval when the date is on the DAG's schedule, else the manual-trigger one."""
    from airflow.timetables.base import TimeRestriction

    if AIRFLOW_3:
        from airflow.serialization.encoders import coerce_to_core_timetable

        timetable = coerce_to_core_timetable(dag.timetable)
    else:
        timetable = dag.timetable
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=logical_date, latest=logical_date, catchup=True),
    )
    if info is not None and info.logical_date == logical_date:
        return info.data_interval.start, info.data_interval.end
    interval = timetable.infer_manual_data_interval(run_after=logical_date)
    return interval.start, interval.end


# ---------------------------------------------------------------------------- dag run


def create_dag_run(
    dag: Any,
    *,
    run_id: str,
    logical_date: datetime,
    interval: tuple[datetime, datetime],
    conf: dict[str, Any],
    queued: bool,
    session: Any,
) -> Any:
    """Create the one DagRun (RUNNING, or QUEUED for a backfill to pick up) with our run_id and interval."""
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    state = DagRunState.QUEUED if queued else DagRunState.RUNNING
    run_type = DagRunType.from_run_id(run_id)
    if AIRFLOW_3:
        from airflow.serialization.serialized_objects import DagSerialization
        from airflow.utils.types import DagRunTriggeredByType

        scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        triggered_by = (
            DagRunTriggeredByType.TIMETABLE if run_type == DagRunType.SCHEDULED else DagRunTriggeredByType.CLI
        )
        dag_run = scheduler_dag.create_dagrun(
            run_id=run_id,
            logical_date=logical_date,
            data_interval=interval,
            run_after=max(interval[1], logical_date),
            conf=conf,
            run_type=run_type,
            triggered_by=triggered_by,
            state=state,
            start_date=utcnow(),
            session=session,
        )
        dag_run.dag = scheduler_dag
    else:
        dag_run = dag.create_dagrun(
            state=state,
            execution_date=logical_date,
            run_id=run_id,
            start_date=utcnow(),
            external_trigger=run_type == DagRunType.MANUAL,
            conf=conf,
            run_type=run_type,
            data_interval=interval,
            session=session,
        )
    session.commit()
    return dag_run


def seed_xcom(db_path: str, dag_run: Any, rows: list[XComRow]) -> None:
    """Insert upstream rows into the fresh database, as if the upstream tasks had run here.

    A plain sqlite3 connection (foreign keys off, sqlite3's default): the upstream task
    instances the XCom rows point at exist only in other pods. The value is inserted
    exactly as received, so nothing is re-serialised.
    """
    if not rows:
        return
    import sqlite3

    now = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")  # UtcDateTime's SQLite text form
    with sqlite3.connect(db_path) as connection:
        connection.executemany(
            "INSERT INTO xcom (dag_run_id, task_id, map_index, key, dag_id, run_id, value, timestamp) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    dag_run.id,
                    row.task_id,
                    row.map_index,
                    row.key,
                    dag_run.dag_id,
                    dag_run.run_id,
                    # Airflow 2 stores bytes of JSON text (LargeBinary); Airflow 3 a JSON column (text).
                    row.value if AIRFLOW_3 else row.value.encode(),
                    now,
                )
                for row in rows
            ],
        )
    connection.close()


def settle_stand_ins(dag_run: Any, stand_ins: set[str], rows: list[XComRow], session: Any) -> None:
    """A mapped task's upstream stand-ins: mark them success and record their TaskMap rows.

    In Airflow the upstream writes a TaskMap row (length, keys of its XCom) when it finishes;
    that ran in another pod, so the row is derived here from the XCom it passed on. Airflow
    expands the mapped task from these rows.
    """
    import json

    from airflow.models.taskmap import TaskMap
    from airflow.utils.state import TaskInstanceState

    if not stand_ins:
        return
    now = utcnow()
    for ti in dag_run.get_task_instances(session=session):
        if ti.task_id in stand_ins:
            ti.state, ti.start_date, ti.end_date = TaskInstanceState.SUCCESS, now, now
    for row in rows:
        if row.task_id not in stand_ins or row.key != "return_value":
            continue
        try:
            value = json.loads(row.value)
        except ValueError:
            continue  # a custom XCom backend's reference: Airflow resolves it when it maps
        if isinstance(value, (list, dict)):
            keys = list(value) if isinstance(value, dict) else None
            session.add(TaskMap(dag_run.dag_id, row.task_id, dag_run.run_id, row.map_index, len(value), keys))
    session.commit()


def task_states(dag_id: str, run_id: str, task_id: str, session: Any) -> list[tuple[int, str | None]]:
    """(map_index, state) of every task instance of the task, in map-index order."""
    from airflow.models.taskinstance import TaskInstance

    tis = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id).all()
    return sorted(
        (ti.map_index, None if ti.state is None else str(getattr(ti.state, "value", ti.state))) for ti in tis
    )


def read_pushed_xcom(dag_id: str, run_id: str, task_id: str, session: Any) -> list[XComRow]:
    """Rows this task stored, with `value` exactly as stored (decoded to text)."""
    from sqlalchemy import text

    result = session.execute(
        text(
            "SELECT task_id, map_index, key, value FROM xcom "
            "WHERE dag_id = :dag_id AND run_id = :run_id AND task_id = :task_id"
        ),
        {"dag_id": dag_id, "run_id": run_id, "task_id": task_id},
    )
    rows = []
    for task, map_index, key, value in result:
        if isinstance(value, (bytes, bytearray, memoryview)):
            try:
                value = bytes(value).decode()
            except UnicodeDecodeError:
                raise ValueError(
                    f"task {task!r}: XCom key {key!r} is not text (pickled XCom?); "
                    "bridge passes JSON-serialisable XCom only: set enable_xcom_pickling=False"
                ) from None
        rows.append(XComRow(task, int(map_index), key, "null" if value is None else str(value)))
    return rows


# ---------------------------------------------------------------------------- running


def _explain_stuck(ti: Any, session: Any) -> str:
    """Why a task instance cannot run (Airflow's own dependency report), on one line."""
    try:
        from airflow.ti_deps.dep_context import DepContext

        reasons = [s.reason for s in ti.get_failed_dep_statuses(dep_context=DepContext(), session=session)]
    except Exception as exc:  # noqa: BLE001 (only a diagnostic; never hide the real outcome)
        reasons = [f"(could not evaluate dependencies: {exc})"]
    return "; ".join(reasons) or "no reason reported"


FULL_API_ENV = "BRIDGE_FULL_EXECUTION_API"


def _trimmed_bundle(full: Any, keep: int) -> Any:
    """The Execution API version bundle cut to the newest `keep` versions (+ one change-less oldest)."""
    from cadwyn import HeadVersion, Version, VersionBundle

    kept = list(full.versions[:keep])
    for version in kept:
        for change in version.changes:
            change._bound_version_bundle = None  # cadwyn binds each change to one bundle
    return VersionBundle(HeadVersion(), *kept, Version(full.versions[keep].value))


def _rebind(bundle: Any) -> None:
    """Bind the changes of `bundle`'s versions back to it (undo a failed trim)."""
    for version in bundle.versions:
        for change in version.changes:
            change._bound_version_bundle = bundle


def _trimmed_api() -> Any:
    """Airflow 3: the in-process Execution API app serving only the versions a local client uses.

    `dag.test()` builds a FastAPI/Cadwyn app per task and per trigger, and Cadwyn generates
    routers for every API version it knows (about 3 s). The in-process client always speaks
    the newest version, so bridge keeps the two newest versions (which restore the routes
    the newest one moved). Anything unexpected falls back to Airflow's own full app.
    """
    from airflow.api_fastapi.execution_api import versions
    from airflow.api_fastapi.execution_api.app import InProcessExecutionAPI

    full = versions.bundle
    try:
        versions.bundle = _trimmed_bundle(full, keep=2)
        api = InProcessExecutionAPI()
        api.app._cadwyn_initialize()  # generate the routers now, where errors are catchable
        return api
    except Exception as exc:  # noqa: BLE001 (any surprise: use Airflow's own full app)
        log.info("bridge: full Execution API (trimmed one failed: %s)", exc)
        _rebind(full)
        return InProcessExecutionAPI()
    finally:
        versions.bundle = full


def prepare_execution_api() -> None:
    """Airflow 3: the task's Execution API calls go to bridge's direct transport, Airflow's app on demand.

    `bridge.runtime.direct_api` answers the common calls without building the FastAPI app;
    the first other call builds Airflow's app once (trimmed to the newest versions) and it
    answers from then on, for the task and for its inline trigger. `BRIDGE_FULL_EXECUTION_API=1`
    uses Airflow's full, untrimmed app for everything, as `dag.test()` does.
    """
    import os
    from functools import lru_cache

    from airflow.sdk.execution_time import supervisor

    if getattr(supervisor.InProcessTestSupervisor, "_bridge", False):
        return  # already done in this process
    supervisor.InProcessTestSupervisor._bridge = True
    if os.environ.get(FULL_API_ENV):
        why_not = "BRIDGE_FULL_EXECUTION_API is set"  # Airflow's own app, as Airflow caches it
    else:
        supervisor.in_process_api_server = lru_cache(maxsize=None)(_trimmed_api)
        from bridge.runtime import direct_api

        why_not = direct_api.direct_path_available()
    if why_not is not None:
        log.info("bridge: Airflow's Execution API app answers every call (%s)", why_not)
        return
    original = supervisor.InProcessTestSupervisor._api_client  # a staticmethod: a plain function here

    def _api_client(dag: Any = None) -> Any:
        def fallback() -> Any:
            return original(dag)._transport  # Airflow's client for this dag: its app's transport

        client = supervisor.InProcessTestSupervisor._Client(
            base_url=None, token="", dry_run=True, transport=direct_api.DirectTransport(fallback)
        )
        client.base_url = "http://in-process.invalid./"
        return client

    supervisor.InProcessTestSupervisor._api_client = staticmethod(_api_client)


def run_task_inprocess(dag: Any, dag_run: Any, session: Any) -> None:
    """Run the DagRun's one task the way `dag.test()` does: a minimal scheduling loop, task in-process."""
    from airflow.utils.state import DagRunState, State, TaskInstanceState

    if AIRFLOW_3:
        from airflow.sdk.definitions.dag import _run_task as af3_run_task

        prepare_execution_api()
    else:
        from airflow.models.dag import _run_task as af2_run_task

    idle = 0
    while dag_run.state == DagRunState.RUNNING:
        session.expire_all()
        # DAG-level callbacks belong to the whole Workflow, not to one pod: never run them here.
        schedulable, _ = dag_run.update_state(session=session, execute_callbacks=False)
        for ti in schedulable:
            if ti.state != TaskInstanceState.UP_FOR_RESCHEDULE:
                ti.try_number += 1
            ti.state = TaskInstanceState.SCHEDULED
            if AIRFLOW_3:
                ti.scheduled_dttm = utcnow()
        session.commit()
        all_tis = list(dag_run.get_task_instances(session=session))
        scheduled = [ti for ti in all_tis if ti.state == TaskInstanceState.SCHEDULED]
        waiting = [ti for ti in all_tis if ti.state not in State.finished and ti not in scheduled]
        if not scheduled and waiting:
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
                if AIRFLOW_3:
                    af3_run_task(ti=ti, task=task, run_triggerer=True)
                else:
                    ti.task = task
                    # raise_on_defer=True: deferrable operators run their trigger inline, as dag.test does.
                    af2_run_task(ti=ti, inline_trigger=True, session=session)
            except Exception:
                log.exception("Task failed; ti=%s", ti)
            except BaseException as exc:
                # AirflowTaskTerminated (SIGTERM) is a BaseException; Airflow already ran on_kill,
                # the failure callbacks and recorded the state: finish the run and write outputs.
                if type(exc).__name__ != "AirflowTaskTerminated":
                    raise
                log.error("Task terminated by SIGTERM; ti=%s", ti)


def ensure_pool(task: Any, session: Any) -> None:
    """Backfill mode: the throwaway database must know the task's pool, or the scheduler refuses it.

    The real limit is the Argo semaphore the pod already holds (docs/SCHEDULES.md), so the pool
    gets exactly the slots this one task needs.
    """
    from airflow.models.pool import Pool

    name = getattr(task, "pool", None)
    if not name or session.query(Pool).filter(Pool.pool == name).first() is not None:
        return
    session.add(Pool(pool=name, slots=max(1, int(getattr(task, "pool_slots", 1) or 1)),
                     description="bridge: the Argo semaphore holds the real limit", include_deferred=False))
    session.commit()


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


# ---------------------------------------------------------------------------- hooks


def airflow_exception() -> Any:
    """AirflowException (its home moved in Airflow 3)."""
    from airflow.exceptions import AirflowException

    return AirflowException


def install_sigterm_failure() -> None:
    """Airflow 3 in-process: after the operator's on_kill, fail the task like Airflow 2 does on SIGTERM.

    Airflow 3's task runner only calls on_kill on SIGTERM and relies on the supervisor to
    kill the process; in-process there is no supervisor, so the task would keep running.
    """
    if not AIRFLOW_3:
        return  # Airflow 2's own handler calls on_kill and raises AirflowTaskTerminated
    import signal

    from airflow.sdk.execution_time import task_runner

    if getattr(task_runner._execute_task, "_bridge", False):
        return
    original = task_runner._execute_task

    def _execute_task(context: Any, ti: Any, log: Any) -> Any:
        from airflow.sdk.exceptions import AirflowTaskTerminated

        airflow_handler = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: Any) -> None:
            if callable(airflow_handler):
                airflow_handler(signum, frame)  # calls the operator's on_kill
            raise AirflowTaskTerminated("Task received SIGTERM signal")

        signal.signal(signal.SIGTERM, on_sigterm)
        try:
            return original(context, ti, log)
        finally:
            signal.signal(signal.SIGTERM, airflow_handler)

    _execute_task._bridge = True  # type: ignore[attr-defined]
    task_runner._execute_task = _execute_task
