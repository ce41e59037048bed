"""Run one task of a single-task DAG file for one logical date on a throwaway Airflow."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bridge import constants
from bridge.runtime import env as runtime_env
from bridge.runtime.xcom import XComRow, oversize_message, render_document
from bridge.version_compat import AIRFLOW_VERSION, is_mapped

EXIT_SUCCESS = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_XCOM_TOO_LARGE = 3
EXIT_FAILED_NO_RETRY = constants.EXIT_FAILED_NO_RETRY  # failed for good although tries remain: no retry

MODES = ("inprocess", "backfill")
_OK_STATES = ("success", "skipped")
UP_FOR_RETRY = "up_for_retry"
MIXED = "mixed"  # a mapped task whose indexes ended success and skipped (no failure)


@dataclass(frozen=True)
class RunRequest:
    """Everything `bridge-task run` was asked to do, already validated."""

    task_file: str
    logical_date: datetime
    run_id: str
    conf: dict[str, Any]
    xcom_in: list[XComRow]
    outputs: str | None = None
    map_index: int = -1
    mode: str = "inprocess"
    attempt: int = 0  # Argo's {{retries}}: Airflow's try_number is attempt + 1
    render_pod: bool = False  # a native KubernetesPodOperator's render step (bridge.runtime.podrender)
    pod_exit_code: str | None = None  # a native pod's outcome, for its callbacks (bridge.runtime.podoutcome)
    asset_events: tuple[dict[str, Any], ...] = ()  # an asset-triggered run's events (bridge.schedule.assets)


@dataclass
class RunOutcome:
    """What the run produced: the files' contents and the exit code."""

    task_id: str = "?"
    state: str = "failed"
    rows: list[XComRow] = field(default_factory=list)
    branch: list[str] | None = None
    states: list[str] | None = None  # a mapped task: per map index, in map-index order
    exit_code: int = EXIT_FAILED
    message: str = ""
    retries_left: bool = False  # the task's last try had tries after it (try_number <= max_tries)
    asset_events: list[dict[str, Any]] | None = None  # a task with outlets: the events Airflow recorded


class Terminated(BaseException):
    """SIGTERM while bridge (not the task) was working; a BaseException like Airflow's own."""


def _terminate(_signum: int, _frame: Any) -> None:
    """SIGTERM handler outside the task: stop, but still write the output files."""
    raise Terminated("received SIGTERM outside the task; stopping")


def notice(message: str) -> None:
    """One line from bridge itself, on stderr so stdout stays the task log."""
    print(f"bridge-task: {message}", file=sys.stderr, flush=True)


def render_branch(followed: list[str] | None) -> str:
    """`null`, or the followed ids as `,a,b,` (`,` for none): a `when` can match it, and
    govaluate string literals cannot hold quote characters (so no JSON)."""
    if followed is None:
        return "null"
    return "," + "".join(f"{task_id}," for task_id in sorted(followed))


def aggregate_state(states: list[str]) -> str:
    """One state for all map indexes of a mapped task, as the Argo conditions read it.

    Airflow counts each map index as one upstream. Any index not success/skipped -> failed
    (the pod fails); all skipped (or none: a zero-length expansion) -> skipped; all success ->
    success; success and skipped together -> `mixed`, which bridge.semantics reads as "some
    success" in the min-one-success rules and as "some skipped" in the no-skip rules.
    """
    if any(state not in _OK_STATES for state in states):
        return "failed"
    if all(state == "skipped" for state in states):
        return "skipped"
    if all(state == "success" for state in states):
        return "success"
    return MIXED


def write_outputs(directory: str, outcome: RunOutcome) -> None:
    """Write xcom.json, state and branch (the Argo output parameters), and states for a mapped task."""
    import json

    os.makedirs(directory, exist_ok=True)
    files = {
        "xcom.json": render_document(outcome.rows) + "\n",
        "state": outcome.state + "\n",
        "branch": render_branch(outcome.branch) + "\n",
    }
    if outcome.states is not None:
        files["states"] = json.dumps(outcome.states) + "\n"
    if outcome.asset_events is not None:
        files[constants.ASSET_EVENTS_FILE] = json.dumps(outcome.asset_events, sort_keys=True, separators=(",", ":")) + "\n"
    for name, text in files.items():
        with open(os.path.join(directory, name), "w", encoding="utf-8") as handle:
            handle.write(text)


def provide_database(db_path: str) -> bool:
    """Copy the pre-migrated template to `db_path`; False when there is none (caller migrates)."""
    template = runtime_env.template_path()
    if os.path.isfile(template):
        shutil.copyfile(template, db_path)
        return True
    notice(
        f"no database template at {template}; migrating a fresh database "
        "(run `bridge-task prepare` at image build time to skip this)"
    )
    return False


def _print_backfill_logs(home: str) -> None:
    """Backfill mode: the task ran in `airflow tasks run` subprocesses that log to files; show them."""
    for path in sorted(glob.glob(os.path.join(home, "logs", "dag_id=*", "**", "*.log"), recursive=True)):
        with open(path, encoding="utf-8", errors="replace") as handle:
            sys.stdout.write(handle.read())
    sys.stdout.flush()


def _setup(request: RunRequest, state_dir: str) -> str:
    """Point Airflow at the throwaway home and database (before any Airflow import); return the db path."""
    db_path = os.path.join(state_dir, runtime_env.DB_NAME)
    dags_folder = os.path.dirname(request.task_file)
    overrides = {"BRIDGE_BRANCH_RECORD": os.path.join(state_dir, "branch.json")}
    if request.mode == "backfill":
        # SequentialExecutor runs `airflow tasks run`: it must be this installation's `airflow`.
        overrides["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    plugins = runtime_env.plugins_folder(request.task_file)
    runtime_env.apply_environment(runtime_env.airflow_environment(state_dir, dags_folder, db_path, plugins), overrides)
    if request.mode == "backfill":
        from bridge.runtime.hooks import LOCAL_SETTINGS

        config_dir = os.path.join(os.environ["AIRFLOW_HOME"], "config")
        os.makedirs(config_dir, exist_ok=True)
        with open(os.path.join(config_dir, "airflow_local_settings.py"), "w", encoding="utf-8") as handle:
            handle.write(LOCAL_SETTINGS)
    if not provide_database(db_path):
        from bridge.runtime import database

        database.migrate_database()  # imports Airflow: only now, with its environment set
    return db_path


def _execute(request: RunRequest, outcome: RunOutcome, db_path: str) -> None:
    """Load the DAG, create the run, seed XComs, run the task, collect state, XComs and branch."""
    import pendulum

    from bridge.runtime import compat, database, hooks, loop, taskfile

    # Logs need no set-up: in-process, Airflow 2's `airflow.task` logger propagates to the root
    # console handler (stdout) and Airflow 3's supervisor logs through structlog to stdout.
    dag, task_id = taskfile.load_dag(request.task_file)
    task = dag.task_dict[task_id]
    mapped = is_mapped(task)
    hooks.instrument(task)
    if any(cls.__name__ == "ExternalTaskSensor" for cls in type(task).__mro__):
        from bridge.runtime import external  # only for these (start-up is a hot path)

        if external.is_external_sensor(task):
            external.install(task)  # the other DAG's runs are Workflows of the cluster
    if any(cls.__name__ == "TriggerDagRunOperator" for cls in type(task).__mro__):
        from bridge.runtime import trigger  # only for these (start-up is a hot path)

        if trigger.is_trigger(task):
            trigger.install(task)  # the run it starts is a Workflow of the cluster
    if request.render_pod:
        from bridge.runtime import podrender

        podrender.install(task, request.outputs or ".")
    if request.pod_exit_code is not None:
        from bridge.runtime import podoutcome

        code = podoutcome.exit_code(request.pod_exit_code)
        podoutcome.install(task, code)
        request = replace(request, attempt=podoutcome.attempt(task, code, request.attempt))
    outcome.task_id = task_id
    logical_date = pendulum.instance(request.logical_date)
    interval = taskfile.data_interval(dag, logical_date)
    # A task clears its own XComs when it starts: rows under its own id must not come back.
    received = [row for row in request.xcom_in if row.task_id != task_id]
    with compat.session_scope() as session:
        dag_run = database.create_dag_run(
            dag,
            run_id=request.run_id,
            logical_date=logical_date,
            interval=interval,
            conf=request.conf,
            queued=request.mode == "backfill",
            session=session,
        )
        database.seed_xcom(db_path, dag_run, received)
        if request.asset_events:
            database.seed_asset_events(dag_run, request.asset_events, session)
        database.settle_stand_ins(dag_run, set(dag.task_dict) - {task_id}, received, session)
        if request.mode == "backfill":
            database.ensure_pool(task, session)
            loop.run_backfill(dag, logical_date, request.conf)
            _print_backfill_logs(os.environ["AIRFLOW_HOME"])
        else:
            loop.run_task_inprocess(dag, dag_run, session, attempt=request.attempt)
        session.expire_all()
        instances = database.task_states(dag.dag_id, request.run_id, task_id, session)
        pushed = database.read_pushed_xcom(dag.dag_id, request.run_id, task_id, session)
        if getattr(task, "outlets", None):
            outcome.asset_events = database.asset_events(dag.dag_id, request.run_id, task_id, session)
    state = dict(instances).get(-1)
    if mapped:
        # Airflow expands the task (map index -1 becomes 0..n-1) and runs each index; with a
        # zero-length input only index -1 remains, skipped.
        outcome.states = [s or "failed" for index, s in instances if index >= 0]
        if outcome.states:
            state = aggregate_state(outcome.states)
    outcome.state = state if state in ("success", "skipped", "failed", "upstream_failed", UP_FOR_RETRY, MIXED) else "failed"
    if state is None:
        notice(f"task {task_id!r} did not run for this date (no task instance, or it never started: "
               "check the task's start_date/end_date); reporting it as failed")
    elif state != outcome.state:
        notice(f"task {task_id!r} ended in state {state!r}; reporting it as failed")
    # Only what this task pushed: each downstream task receives its sources' rows directly
    # (docs/DESIGN.md, "XCom input"), so nothing is passed on and the documents stay linear.
    outcome.rows = sorted(pushed, key=lambda row: row.sort_key)
    outcome.branch = hooks.read_decision(os.environ["BRIDGE_BRANCH_RECORD"])
    outcome.retries_left = request.attempt < (getattr(task, "retries", 0) or 0)
    outcome.exit_code = exit_code(outcome)


def exit_code(outcome: RunOutcome) -> int:
    """0 for success/skipped; 1 for a failure Argo may retry (Airflow's up_for_retry, or no decision
    by Airflow at all); 4 when Airflow failed the task for good although tries remain."""
    if outcome.state in (*_OK_STATES, MIXED):
        return EXIT_SUCCESS
    if outcome.state == "failed" and outcome.retries_left and UP_FOR_RETRY not in (outcome.states or ()):
        return EXIT_FAILED_NO_RETRY
    return EXIT_FAILED


def run(request: RunRequest) -> int:
    """Run the task; always write the output files; return the process exit code."""
    # Until the DAG loads, name the task after its file (`bridge split` writes <Argo task name>.py).
    task_id = os.path.splitext(os.path.basename(request.task_file))[0]
    outcome = RunOutcome(task_id=task_id, rows=list(request.xcom_in))
    state_dir = runtime_env.make_state_dir()
    # Until Airflow installs its own handler around the task, SIGTERM still ends in written outputs.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        _execute(request, outcome, _setup(request, state_dir))
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 (outputs must be written; the task's own errors are Airflow's)
        from bridge.runtime.taskfile import TaskLoadError

        if isinstance(exc, (TaskLoadError, Terminated)):
            notice(str(exc))
        else:
            import traceback

            traceback.print_exc()
            notice(f"could not run {request.task_file}: {type(exc).__name__}: {exc}")
        outcome.state, outcome.exit_code = "failed", EXIT_FAILED
    finally:
        runtime_env.remove_state_dir(state_dir)
    if outcome.exit_code == EXIT_SUCCESS:
        size = len(render_document(outcome.rows).encode()) + 1
        message = oversize_message(outcome.task_id, outcome.rows, size)
        if message:
            notice(message)
            # The pod fails; an empty document keeps Argo from choking on an oversized parameter.
            outcome.rows, outcome.exit_code = [], EXIT_XCOM_TOO_LARGE
    if request.outputs:
        write_outputs(request.outputs, outcome)
    notice(f"task {outcome.task_id!r} ended {outcome.state} (exit {outcome.exit_code})")
    return outcome.exit_code


def prepare(directory: str | None = None) -> str:
    """Create the pre-migrated SQLite template that `run` copies; return its path."""
    target = (
        os.path.join(directory, f"airflow-{AIRFLOW_VERSION}.db")
        if directory
        else runtime_env.template_path()
    )
    target = os.path.abspath(target)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    state_dir = runtime_env.make_state_dir()
    try:
        db_path = os.path.join(state_dir, runtime_env.DB_NAME)
        empty_dags = os.path.join(state_dir, "dags")
        os.makedirs(empty_dags)
        runtime_env.apply_environment(runtime_env.airflow_environment(state_dir, empty_dags, db_path))
        from bridge.runtime import database

        database.migrate_database()
        from airflow import settings

        settings.dispose_orm()
        partial = f"{target}.{os.getpid()}.partial"
        shutil.copyfile(db_path, partial)
        os.replace(partial, target)  # atomic: a concurrent `run` never sees half a file
    finally:
        runtime_env.remove_state_dir(state_dir)
    return target
