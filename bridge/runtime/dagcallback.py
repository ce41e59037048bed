"""`bridge-task dag-callback`: the Workflow's exit handler runs the DAG's own DAG-level callback once per run.

Argo runs the exit handler after the DAG (also after `activeDeadlineSeconds`) and gives it the run's
final phase (`{{workflow.status}}`), its failed nodes (`{{workflow.failures}}`) and its duration
(`{{workflow.duration}}`). This module rebuilds the DagRun on a throwaway database (the same
run_id, logical date, data interval and conf as every task pod), gives its task instances the
states Argo reports, sets the DagRun's final state and calls the callback the way Airflow's DAG
processor does on the installed line (docs/SEMANTICS.md, "DAG-level callbacks"). Airflow is
imported inside the functions, after `bridge.runtime.env` pointed it at the throwaway home.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from bridge import names
from bridge.runtime import env as runtime_env
from bridge.runtime.runner import EXIT_FAILED, EXIT_SUCCESS, Terminated, notice, provide_database
from bridge.version_compat import AIRFLOW_3

# Airflow's reasons (the `reason` key of the callback context): DagRun.update_state ("success",
# "task_failure") and the scheduler's dagrun_timeout check ("timed_out"), the same strings on 2.11 and 3.3.
SUCCESS, TASK_FAILURE, TIMED_OUT = "success", "task_failure", "timed_out"
# Argo's workflow phases (operator.go: the entry node's phase mapped to the workflow's).
SUCCEEDED = "Succeeded"


@dataclass(frozen=True)
class FailedNode:
    """One entry of Argo's `{{workflow.failures}}` (operator.go failedNodeStatus)."""

    display_name: str
    template_name: str
    phase: str
    message: str = ""
    finished_at: datetime | None = None


@dataclass(frozen=True)
class CallbackRequest:
    """What the exit handler was given: the run, Argo's verdict on it, and its failed nodes."""

    task_file: str  # any task file of the DAG: the original DAG comes with it (bridge.dagfile)
    logical_date: datetime
    run_id: str
    conf: dict[str, Any]
    status: str  # {{workflow.status}}: Succeeded, Failed or Error
    failures: list[FailedNode] = field(default_factory=list)
    duration_seconds: float | None = None  # {{workflow.duration}}


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


def parse_failures(text: str) -> list[FailedNode]:
    """Argo's `{{workflow.failures}}`: a JSON string holding a JSON list (strconv.Quote, operator.go), or `"null"`.

    A bare list (decoded once already) is accepted too; anything else is a ValueError.
    """
    value: Any = json.loads(text) if text.strip() else None
    if isinstance(value, str):
        value = json.loads(value)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError("expected Argo's {{workflow.failures}}: a JSON list of failed nodes")
    return [
        FailedNode(
            display_name=str(item.get("displayName") or ""),
            template_name=str(item.get("templateName") or ""),
            phase=str(item.get("phase") or ""),
            message=str(item.get("message") or ""),
            finished_at=_time(item.get("finishedAt")),
        )
        for item in value
    ]


def failed_tasks(task_ids: list[str], failures: list[FailedNode], entrypoint: str = "main") -> dict[str, FailedNode]:
    """Airflow task id -> its failed node: a failed node whose display name is a DAG task's Argo name.

    The names are bridge.names.argo_names of the DAG's task ids, as the Workflow was planned. Retry
    attempts (`task(0)`) are not tasks: a task that failed once and then succeeded did not fail; the
    DAG's own node (display name: the Workflow's name, template `entrypoint`) is not a task either.
    """
    by_name = {name: task_id for task_id, name in names.argo_names(task_ids).items()}
    found: dict[str, FailedNode] = {}
    for node in failures:
        task_id = by_name.get(node.display_name)
        if task_id is not None and node.template_name != entrypoint:
            found[task_id] = node
    return found


def final_state(status: str) -> str:
    """The DagRun state: the Workflow's phase is the airflow-dagrun verdict (docs/SEMANTICS.md, "The DagRun state")."""
    return "success" if status == SUCCEEDED else "failed"


def reason_for(state: str, timeout_seconds: float | None, duration_seconds: float | None) -> str:
    """Airflow's reason: timed_out when the run failed and lasted its dagrun_timeout (Argo's deadline), else by state.

    Argo gives the exit handler the run's elapsed seconds; a run that failed after at least
    dagrun_timeout seconds ran into `activeDeadlineSeconds` (= dagrun_timeout), which killed its pods.
    """
    if state == "success":
        return SUCCESS
    if timeout_seconds is not None and duration_seconds is not None and duration_seconds >= timeout_seconds:
        return TIMED_OUT
    return TASK_FAILURE


def _setup(request: CallbackRequest, state_dir: str) -> None:
    """Point Airflow at the throwaway home and database (before any Airflow import), as for a task pod."""
    db_path = os.path.join(state_dir, runtime_env.DB_NAME)
    plugins = runtime_env.plugins_folder(request.task_file)
    environment = runtime_env.airflow_environment(state_dir, os.path.dirname(request.task_file), db_path, plugins)
    runtime_env.apply_environment(environment, {"BRIDGE_BRANCH_RECORD": os.path.join(state_dir, "branch.json")})
    if not provide_database(db_path):
        from bridge.runtime import database

        database.migrate_database()


def load_original_dag(task_file: str) -> tuple[Any, Any]:
    """(DagBag, the whole DAG): the task file's bag with its one-task DAG replaced by the original DAG it imported.

    The original DAG goes through the bag as the DAG processor's parse would put it there (cycle
    check, cluster policies) and, on Airflow 3, into the database (serialized DAG + version).
    """
    from bridge import dagfile
    from bridge.runtime import compat
    from bridge.runtime.taskfile import TaskLoadError

    bag = compat.make_dagbag(task_file)
    if bag.import_errors:
        error = next(iter(bag.import_errors.values())).strip()
        raise TaskLoadError(f"{task_file}: the DAG file failed to import:\n{error}")
    if len(bag.dags) != 1:
        raise TaskLoadError(f"{task_file}: a task file must define exactly one DAG, found {len(bag.dags)}; re-run bridge split")
    subset = next(iter(bag.dags.values()))
    dag = dagfile.original_dag(subset.dag_id)
    if dag is None:
        raise TaskLoadError(f"{task_file}: the original DAG {subset.dag_id!r} is not imported; re-run bridge split")
    # The subset's file and template folders are the pod's (docs/DESIGN.md, "Projects").
    dag.fileloc = subset.fileloc
    dag.template_searchpath = subset.template_searchpath
    if AIRFLOW_3:  # an attribute the bag sets on Airflow 3 (a property of fileloc on Airflow 2)
        dag.relative_fileloc = subset.relative_fileloc
    bag.dags.pop(subset.dag_id)
    if AIRFLOW_3:
        bag.bag_dag(dag)
    else:
        bag.bag_dag(dag, root_dag=dag)
    compat.store_dagbag(bag)
    return bag, dag


def settle_task_states(dag_run: Any, failed: dict[str, FailedNode], session: Any) -> None:
    """Give the task instances the states the run left: Argo's failed tasks `failed`, the rest by Airflow's own rules.

    Airflow's scheduling decisions (`update_state`) walk the DAG: every task that becomes
    schedulable ends `failed` when Argo failed it, else `success`; Airflow itself marks the tasks
    downstream of failures upstream_failed or skipped by their trigger rules. What no pod reports
    (a branch not taken, a skip inside a task) comes out `success`.
    """
    from airflow.utils.state import DagRunState, TaskInstanceState

    from bridge.runtime.compat import utcnow

    for _ in range(len(dag_run.get_task_instances(session=session)) + 2):
        schedulable, _ = dag_run.update_state(session=session, execute_callbacks=False)
        if dag_run.state != DagRunState.RUNNING or not schedulable:
            break
        for ti in schedulable:
            node = failed.get(ti.task_id)
            ti.try_number = max(1, int(ti.try_number or 0))
            ti.start_date = ti.start_date or dag_run.start_date
            ti.end_date = (node.finished_at if node is not None else None) or utcnow()
            ti.state = TaskInstanceState.FAILED if node is not None else TaskInstanceState.SUCCESS
        session.commit()


def _set_final_state(dag_run: Any, state: str, session: Any) -> None:
    from airflow.utils.state import DagRunState

    dag_run.set_state(DagRunState.SUCCESS if state == "success" else DagRunState.FAILED)
    session.merge(dag_run)
    session.commit()


def _relevant_ti(dag_run: Any, state: str, session: Any) -> Any:
    """Airflow 3's choice of the task instance whose context the callback gets (DagRun.update_state).

    success: the last task instance to succeed; task_failure: the last to fail. timed_out: Airflow
    takes the last unfinished one, which the deadline killed: on Argo that is the last to fail.
    """
    from airflow.utils.state import TaskInstanceState

    wanted = TaskInstanceState.SUCCESS if state == "success" else TaskInstanceState.FAILED
    tis = [ti for ti in dag_run.get_task_instances(session=session) if ti.state == wanted]
    minimum = datetime.min.replace(tzinfo=timezone.utc)
    return max(tis, key=lambda ti: ti.end_date or minimum, default=None)


def _call_callback(bag: Any, dag: Any, dag_run: Any, state: str, reason: str, session: Any) -> None:
    """Airflow's own DAG-callback code path of the installed line (the DAG processor's)."""
    success = state == "success"
    if not AIRFLOW_3:
        # Airflow 2.11's DagFileProcessor._execute_dag_callbacks: DAG.fetch_callback (the last task
        # instance's template context plus `reason`) and DAG.execute_callback, which logs a raising callback.
        callbacks, context = dag.fetch_callback(dag=dag, dag_run_id=dag_run.run_id, success=success, reason=reason,
                                                session=session) or (None, None)
        dag.execute_callback(callbacks, context, dag.dag_id)
        return
    import structlog
    from airflow.dag_processing.processor import _execute_dag_callbacks

    # The scheduler's DagCallbackRequest (DagRun.produce_dag_callback), run as the DAG processor runs it.
    request = dag_run.produce_dag_callback(
        dag=dag_run.dag, success=success, relevant_ti=_relevant_ti(dag_run, state, session),
        reason=reason, execute=False,
    )
    _execute_dag_callbacks(bag, request, structlog.get_logger("bridge.dag_callback"))


def _execute(request: CallbackRequest) -> str:
    """Load the DAG, rebuild the run with Argo's outcome, call the callback; return what was done."""
    import pendulum

    from bridge.runtime import compat, database, taskfile

    bag, dag = load_original_dag(request.task_file)
    state = final_state(request.status)
    timeout = dag.dagrun_timeout.total_seconds() if getattr(dag, "dagrun_timeout", None) else None
    reason = reason_for(state, timeout, request.duration_seconds)
    wanted = "on_success_callback" if state == "success" else "on_failure_callback"
    if not getattr(dag, wanted, None):
        return f"DAG {dag.dag_id!r}: run {request.run_id} ended {state} ({reason}); it has no {wanted}"
    failed = failed_tasks(list(dag.task_dict), request.failures)
    logical_date = pendulum.instance(request.logical_date)
    interval = taskfile.data_interval(dag, logical_date)
    with compat.session_scope() as session:
        dag_run = database.create_dag_run(dag, run_id=request.run_id, logical_date=logical_date, interval=interval,
                                          conf=request.conf, queued=False, session=session)
        settle_task_states(dag_run, failed, session)
        _set_final_state(dag_run, state, session)
        _call_callback(bag, dag, dag_run, state, reason, session)
    shown = ", ".join(sorted(failed)) or "none"
    return f"DAG {dag.dag_id!r}: run {request.run_id} ended {state} ({reason}; failed tasks: {shown}); ran its {wanted}"


def _terminate(_signum: int, _frame: Any) -> None:
    """SIGTERM (the pod is deleted): stop with a located message."""
    raise Terminated("received SIGTERM; stopping")


def run(request: CallbackRequest) -> int:
    """Run the DAG's callback for the finished run; 0 also when the callback raised (Airflow logs that, the run keeps its state)."""
    state_dir = runtime_env.make_state_dir()
    signal.signal(signal.SIGTERM, _terminate)
    try:
        _setup(request, state_dir)
        notice(_execute(request))
        return EXIT_SUCCESS
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 (the pod must say why it failed, on one line at the end)
        from bridge.runtime.taskfile import TaskLoadError

        if not isinstance(exc, (TaskLoadError, Terminated)):
            import traceback

            traceback.print_exc()
        notice(f"could not run the DAG callback of {request.task_file}: {type(exc).__name__}: {exc}")
        return EXIT_FAILED
    finally:
        runtime_env.remove_state_dir(state_dir)
