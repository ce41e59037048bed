"""`bridge-task`: the container entrypoint that runs one Airflow task (see docs/DESIGN.md)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from bridge.dates import default_run_id, parse_run_date
from bridge.runtime import runner
from bridge.runtime.xcom import XComDocumentError, XComRow, parse_documents
from bridge.version_compat import AIRFLOW_3


def parse_params(values: tuple[str, ...]) -> dict[str, Any]:
    """`NAME=VALUE` pairs -> dag_run.conf; VALUE is JSON when it parses, else the plain string."""
    conf: dict[str, Any] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--param")
        try:
            conf[name] = json.loads(raw)
        except ValueError:
            conf[name] = raw
    return conf


def read_xcom_in(path: str | None) -> list[XComRow]:
    """Rows of the `--xcom-in` file; a missing or empty file means none."""
    if not path or not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        return parse_documents(text, source=path)
    except XComDocumentError as exc:
        raise click.BadParameter(str(exc), param_hint="--xcom-in") from None


def exit_now(code: int) -> None:
    """Exit as at normal shutdown, minus the interpreter's module teardown (about 1 s after Airflow 3).

    Non-daemon threads are joined and every atexit hook runs (Airflow's ORM disposal,
    logging flush, listeners), exactly as Python would; only the garbage collection of
    every module, pointless in a pod that is about to end, is skipped.
    """
    import atexit
    import threading

    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@click.group()
def main() -> None:
    """Run one task of a bridge single-task DAG file on a throwaway Airflow."""


@main.command("run")
@click.argument("task_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--run-date", required=True, help="Logical date: YYYYMMDD, YYYY-MM-DD or ISO date-time (naive = UTC).")
@click.option("--run-id", default="", help="DagRun id; empty: manual__<logical date ISO-8601>.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="dag_run.conf entry (JSON, else string).")
@click.option("--xcom-in", type=click.Path(dir_okay=False), help="Upstream xcom.json documents, concatenated (whitespace between them allowed).")
@click.option("--outputs", type=click.Path(file_okay=False), help="Directory for xcom.json, state and branch.")
@click.option("--map-index", type=int, default=-1, show_default=True, help="Reserved (-1): a mapped task runs all its map indexes in one run.")
@click.option("--mode", type=click.Choice(runner.MODES), default="inprocess", show_default=True,
              help="backfill: Airflow 2 SequentialExecutor reference run.")
@click.option("--attempt", type=click.IntRange(min=0), default=0, show_default=True,
              help="Tries already made (Argo's {{retries}}): Airflow's try_number is ATTEMPT + 1.")
@click.option("--render-pod", is_flag=True,
              help="A native KubernetesPodOperator: render its fields and write its pod (OUTPUTS/pod.json, image); start no pod.")
@click.option("--pod-exit-code", metavar="CODE",
              help="A native KubernetesPodOperator's pod ended with CODE (or 'none'): Airflow concludes the "
                   "task from it and calls its callbacks; start no pod.")
@click.option("--asset-events", default="", metavar="JSON",
              help="An asset-triggered run: the events that triggered it (what bridge submit found): the task's "
                   "triggering_asset_events.")
def run_command(
    task_file: str,
    run_date: str,
    run_id: str,
    params: tuple[str, ...],
    xcom_in: str | None,
    outputs: str | None,
    map_index: int,
    mode: str,
    attempt: int,
    render_pod: bool,
    pod_exit_code: str | None,
    asset_events: str,
) -> None:
    """Run TASK_FILE's one task for one logical date.

    Exit 0 success/skipped, 1 failed (Argo may retry), 3 XCom too large, 4 failed for good
    although tries remain (Airflow's decision: no retry).
    """
    try:
        logical_date = parse_run_date(run_date)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--run-date") from None
    if mode == "backfill" and AIRFLOW_3:
        raise click.UsageError("--mode backfill needs Airflow 2 (no SequentialExecutor/backfill on Airflow 3); "
                               "use the default --mode inprocess")
    if pod_exit_code is not None:
        from bridge.runtime import podoutcome  # only a native pod's callbacks step (start-up is a hot path)

        try:
            podoutcome.exit_code(pod_exit_code)
        except ValueError:
            raise click.BadParameter(f"{pod_exit_code!r} is no exit code (an integer, or 'none')", param_hint="--pod-exit-code") from None
    try:
        events = json.loads(asset_events) if asset_events.strip() else []
        if not isinstance(events, list) or not all(isinstance(e, dict) and "uri" in e for e in events):
            raise ValueError("not a list of events with a uri")
    except ValueError as exc:
        raise click.BadParameter(f"not the asset events bridge submit writes ({exc})", param_hint="--asset-events") from None
    if map_index != -1:
        raise click.UsageError("--map-index is reserved: bridge-task runs every map index of a mapped task at once")
    request = runner.RunRequest(
        task_file=os.path.abspath(task_file),
        logical_date=logical_date,
        run_id=run_id or default_run_id(logical_date),
        conf=parse_params(params),
        xcom_in=read_xcom_in(xcom_in),
        outputs=outputs,
        map_index=map_index,
        mode=mode,
        attempt=attempt,
        render_pod=render_pod,
        pod_exit_code=pod_exit_code,
        asset_events=tuple(events),
    )
    exit_now(runner.run(request))


@main.command("prepare")
@click.option("--dir", "directory", type=click.Path(file_okay=False),
              help="Write DIR/airflow-<version>.db instead of $BRIDGE_DB_TEMPLATE or the default path.")
def prepare_command(directory: str | None) -> None:
    """Create the pre-migrated SQLite database that every `run` copies (run once at image build)."""
    path = runner.prepare(directory)
    click.echo(path)


@main.command("dag-callback")
@click.argument("task_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--run-date", required=True, help="Logical date: YYYYMMDD, YYYY-MM-DD or ISO date-time (naive = UTC).")
@click.option("--run-id", default="", help="DagRun id; empty: manual__<logical date ISO-8601>.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="dag_run.conf entry (JSON, else string).")
@click.option("--status", required=True, help="The Workflow's phase ({{workflow.status}}): Succeeded, Failed or Error.")
@click.option("--failures", "failures_file", type=click.Path(dir_okay=False),
              help="File holding Argo's {{workflow.failures}} (missing or empty: no failed nodes).")
@click.option("--duration", default="", help="The run's elapsed seconds ({{workflow.duration}}).")
def dag_callback_command(
    task_file: str, run_date: str, run_id: str, params: tuple[str, ...], status: str, failures_file: str | None,
    duration: str,
) -> None:
    """Exit handler: call the DAG's on_success_callback or on_failure_callback for the finished run, once."""
    from bridge.runtime import dagcallback

    try:
        logical_date = parse_run_date(run_date)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--run-date") from None
    text = ""
    if failures_file and os.path.exists(failures_file):
        with open(failures_file, encoding="utf-8") as handle:
            text = handle.read()
    try:
        failures = dagcallback.parse_failures(text)
    except ValueError as exc:
        raise click.BadParameter(f"{failures_file}: {exc}", param_hint="--failures") from None
    try:
        seconds = float(duration) if duration.strip() else None
    except ValueError:
        raise click.BadParameter(f"{duration!r} is not a number of seconds", param_hint="--duration") from None
    request = dagcallback.CallbackRequest(
        task_file=os.path.abspath(task_file),
        logical_date=logical_date,
        run_id=run_id or default_run_id(logical_date),
        conf=parse_params(params),
        status=status,
        failures=failures,
        duration_seconds=seconds,
    )
    exit_now(dagcallback.run(request))
