"""`bridge run`'s command layer: split a DAG into a temporary folder, then execute its Workflow here.

The split is bridge/split.py's; the execution is bridge/local's Argo emulator, which reads only
the emitted YAML. This module is the one place that joins the two.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

from bridge.argo.versions import ArgoVersion
from bridge.argo.versions import warnings as argo_warnings
from bridge.errors import BridgeError
from bridge.model import NO_POD_SETTINGS, PodSettings


@dataclass(frozen=True)
class LocalRun:
    """What `bridge run` did: the Airflow-style report and where the files are."""

    succeeded: bool
    report: dict
    work_dir: str | None  # kept folder (split output and logs), None when removed


def ensure_db_template() -> None:
    """Migrate Airflow's database template once per installation, as the image build does."""
    import subprocess

    from bridge.runtime.env import template_path

    if os.path.exists(template_path()):
        return
    print("bridge: preparing the Airflow database template (once per installation) ...", file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, "-m", "bridge.runtime", "prepare"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BridgeError(f"bridge-task prepare failed: {done.stderr.strip().splitlines()[-1:]}")


def _argo_tasks(task_ids: Mapping[str, str], lost: tuple[str, ...]) -> frozenset[str]:
    """The DAG task names of Airflow task ids `lost` (`task_ids`: name -> Airflow task id)."""
    names = {task_id: name for name, task_id in task_ids.items()}
    unknown = sorted(set(lost) - set(names))
    if unknown:
        raise BridgeError(f"--lose-pod: no task {', '.join(map(repr, unknown))} in the DAG")
    return frozenset(names[task_id] for task_id in lost)


def run_dag(
    dag_file: str,
    *,
    run_date: str,
    dag_id: str | None = None,
    parallelism: int | None = None,
    parameters: Mapping[str, str] | None = None,
    retry_delay_scale: float = 1.0,
    report_file: str | None = None,
    keep: bool = False,
    engine: str = "host",
    image: str | None = None,
    pass_env: tuple[str, ...] = (),
    pool_slots: Mapping[str, int] | None = None,
    dags_folder: str | None = None,
    plugins_folder: str | None = None,
    pod: PodSettings = NO_POD_SETTINGS,
    secrets_dir: str | None = None,
    argo_version: ArgoVersion | None = None,
    lose_pods: tuple[str, ...] = (),
) -> LocalRun:
    """Split `dag_file` (a DAG file or a dags folder, with its project's files), run the Workflow for `run_date` with live progress, print a summary.

    `engine` "host" runs each pod's command as a local process; "podman" or "docker" runs it in
    the Workflow's image (`image` overrides it, as `bridge split --image` would), see
    bridge/local/container.py. `pass_env` names more variables of this environment the
    containers get (the host engine passes everything).
    Semaphore limits come from the split's `sync/` ConfigMaps, as if they had been applied.
    `pod` are bridge split's pod flags (envFrom, Secret volumes …); `secrets_dir` holds the
    Secrets and ConfigMaps they name, as `<secrets_dir>/<name>/<key>` files (docs/LOCAL.md).
    `argo_version` (bridge split's --argo-version) is the Argo release the Workflow is split for
    and whose known differences the run reproduces (docs/COMPATIBILITY.md, "Argo Workflows").
    `lose_pods` (Airflow task ids) lose every pod of those tasks, as a failed Kubernetes node would.
    Ctrl-C, SIGTERM or SIGHUP stop every pod the run started; the summary and the report are
    written, then BridgeError says the run was stopped.
    """
    from bridge.local import ProgressPrinter, WorkflowError, format_summary, load_config_maps, load_workflow, report, run_workflow
    from bridge.split import split_dag

    if engine == "host":
        ensure_db_template()
    # Loading the DAG in this process sets AIRFLOW__* quieting variables; pods get the user's environment.
    pod_env = dict(os.environ)
    work = tempfile.mkdtemp(prefix="bridge-run-")
    split_dir = os.path.join(work, "split")
    try:
        result = split_dag(
            dag_file, dag_id=dag_id, output=split_dir, image=image, pool_slots=pool_slots, dags_folder=dags_folder,
            plugins_folder=plugins_folder, pod=pod, argo_version=argo_version,
        )
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    workflow = load_workflow(result.workflow_path)
    try:
        lost = _argo_tasks(result.task_ids, lose_pods)
    except BridgeError:
        shutil.rmtree(work, ignore_errors=True)
        raise
    config_maps = load_config_maps([result.sync_path] if result.sync_path else [])
    log_dir = os.path.join(work, "logs")
    os.makedirs(log_dir)
    launcher = None
    if engine != "host":
        from bridge.local import ContainerLauncher

        launcher = ContainerLauncher(engine, os.path.join(log_dir, "pods"), pass_env=pass_env, base_env=pod_env)
        try:
            for template in workflow["spec"]["templates"]:
                # A templated native pod's image is its render step's output: known only at run time.
                if "container" in template and "{{" not in str(template["container"].get("image", "")):
                    launcher.check_image(template["container"]["image"])
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    for warning in argo_warnings(argo_version) if argo_version is not None else []:
        print(f"bridge: warning: {warning}", file=sys.stderr)
    print(f"bridge: running DAG {result.dag_id!r} for {run_date}: {result.task_count} tasks", file=sys.stderr, flush=True)
    try:
        outcome = run_workflow(
            workflow,
            split_dir=split_dir,
            parameters={**(parameters or {}), "run-date": run_date},
            parallelism=parallelism,
            retry_delay_scale=retry_delay_scale,
            log_dir=log_dir,
            on_event=ProgressPrinter(sys.stderr),
            env=pod_env,
            launcher=launcher,
            config_maps=config_maps,
            config_maps_source=f"bridge run applies only {os.path.relpath(result.sync_path, split_dir)}" if result.sync_path else "",
            objects_dir=secrets_dir,
            argo_version=argo_version,
            lost_pods=lost,
        )
    except WorkflowError as error:
        shutil.rmtree(work, ignore_errors=True)
        raise BridgeError(f"the emitted Workflow cannot run: {error}", location=result.workflow_path) from None
    data = report(outcome, result.dag_id, run_date, result.task_ids)
    print(format_summary(outcome, result.task_ids), flush=True)
    if report_file:
        with open(report_file, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
    succeeded = data["state"] == "success"
    if outcome.interrupted:
        # Stopped by Ctrl-C or a signal: its pods are stopped; the command stops too (no next date of a backfill).
        raise BridgeError(f"{outcome.message}; every pod it started was stopped; split folder and task logs kept in {work}")
    if succeeded and not keep:
        shutil.rmtree(split_dir, ignore_errors=True)  # the task logs stay where the summary says
        return LocalRun(True, data, None)
    print(f"bridge: split folder and task logs kept in {work}", file=sys.stderr)
    return LocalRun(succeeded, data, work)
