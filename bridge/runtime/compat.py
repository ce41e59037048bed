"""Airflow 2 / Airflow 3 differences the task runner needs, each behind one small function.

Which line is installed comes from `bridge.version_compat` (package metadata, no Airflow
import). Airflow itself is imported only inside the functions, which run after
`bridge.runtime.env` pointed Airflow at the throwaway home and database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridge.version_compat import AIRFLOW_3, AIRFLOW_LINE, DAGBAG_MODULE

# The bundle every DAG of this throwaway Airflow belongs to (Airflow 3's default bundle name).
BUNDLE_NAME = "dags-folder"


def utcnow() -> datetime:
    """Aware UTC now (pendulum, as Airflow's own timestamps are)."""
    import pendulum

    return pendulum.now("UTC")


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


def make_dagbag(task_file: str) -> Any:
    """Airflow's DagBag over the task file (cluster policies apply), in the task's dags-folder bundle on Airflow 3."""
    import importlib
    import os

    module = importlib.import_module(DAGBAG_MODULE)
    options: dict[str, Any] = {"dag_folder": task_file, "safe_mode": False, "load_op_links": False}
    if not AIRFLOW_3:
        return module.DagBag(include_examples=False, **options)
    options["bundle_path"] = os.path.dirname(task_file)
    if AIRFLOW_LINE >= (3, 2):
        options["bundle_name"] = BUNDLE_NAME  # the relative file locations are the bundle's
    if hasattr(module, "BundleDagBag"):
        return module.BundleDagBag(**options)
    return module.DagBag(include_examples=False, **options)  # Airflow 3.0: the plain bag takes the bundle path


def store_dagbag(bag: Any) -> None:
    """Airflow 3: write the bag's DAG to the database (serialized DAG + version), as the DAG processor would.

    The Execution API looks the DAG up by version. Airflow 2 reads the DAG from the bag itself.
    """
    if not AIRFLOW_3:
        return
    import importlib

    module = importlib.import_module(DAGBAG_MODULE)
    if hasattr(module, "sync_bag_to_db"):
        module.sync_bag_to_db(bag, BUNDLE_NAME, None)
    else:
        bag.sync_to_db(BUNDLE_NAME, None)  # Airflow 3.0


def core_timetable(dag: Any) -> Any:
    """The DAG's timetable as the scheduler side uses it (Airflow 3: the core class behind the SDK one)."""
    if AIRFLOW_3:
        try:
            from airflow.serialization.encoders import coerce_to_core_timetable
        except ImportError:  # Airflow 3.0 and 3.1: the DAG holds the core timetable itself
            return dag.timetable
        return coerce_to_core_timetable(dag.timetable)
    return dag.timetable


def dag_serialization() -> Any:
    """Airflow 3's serializer of DAGs (DagSerialization from 3.2, SerializedDAG before)."""
    try:
        from airflow.serialization.serialized_objects import DagSerialization
    except ImportError:  # Airflow 3.0 and 3.1
        from airflow.serialization.serialized_objects import SerializedDAG as DagSerialization
    return DagSerialization


def run_task_inline(ti: Any, task: Any, session: Any) -> None:
    """`dag.test()`'s run of one task instance in this process, deferrals run inline, on each line.

    Airflow 3.1+ takes the task beside the instance; 3.0 reads it from `ti.task`, as its
    `dag.test()` sets it; Airflow 2 runs the raw task in the caller's session.
    """
    if not AIRFLOW_3:
        from airflow.models.dag import _run_task as af2_run_task

        ti.task = task
        # inline_trigger=True: deferrable operators run their trigger inline, as dag.test does.
        af2_run_task(ti=ti, inline_trigger=True, session=session)
        return
    from airflow.sdk.definitions.dag import _run_task

    if AIRFLOW_LINE >= (3, 1):
        _run_task(ti=ti, task=task, run_triggerer=True)
    else:
        ti.task = task
        _run_task(ti=ti, run_triggerer=True)


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
        try:
            from airflow.sdk.exceptions import AirflowTaskTerminated
        except ImportError:  # Airflow 3.0 and 3.1
            from airflow.exceptions import AirflowTaskTerminated

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
