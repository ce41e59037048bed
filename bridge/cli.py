"""The `bridge` command: parse, call, write, map errors to exit codes."""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

import click

from bridge import __version__
from bridge.argo.versions import DEFAULT as ARGO_DEFAULT
from bridge.argo.versions import ArgoVersion
from bridge.errors import BridgeError
from bridge.model import WORKFLOW_KINDS, PodSettings


def _namespace(value: str | None) -> str | None:
    """A Kubernetes namespace name (DNS label), or a usage error."""
    import re

    if value is not None and not re.match(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", value):
        raise click.BadParameter(
            f"{value!r} is not a Kubernetes namespace (at most 63 lower-case letters, digits and '-')",
            param_hint="--namespace",
        )
    return value


def _secret_name(value: str | None, hint: str = "--gcp-key-secret", kind: str = "Secret") -> str | None:
    """A Kubernetes Secret (ConfigMap, ServiceAccount) name (DNS subdomain), or a usage error."""
    import re

    if value is not None and (len(value) > 253 or not re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", value)):
        raise click.BadParameter(
            f"{value!r} is not a Kubernetes {kind} name (lower-case letters, digits, '-' and '.', at most 253)",
            param_hint=hint,
        )
    return value


# Paths a Secret volume must not cover: the pod's only writable folder and the image's project files.
_RESERVED_PATHS = ("/tmp", "/opt/bridge")


def _secret_volume(value: str) -> tuple[str, str]:
    """`--secret-volume NAME:PATH`: a Secret name and an absolute mount path outside /tmp and /opt/bridge."""
    import posixpath

    name, sep, path = value.partition(":")
    if not sep or not path:
        raise click.BadParameter(f"{value!r} is not NAME:PATH (e.g. airflow-secrets:/var/secrets/airflow)", param_hint="--secret-volume")
    _secret_name(name, "--secret-volume")
    clean = posixpath.normpath(path)
    if not path.startswith("/") or clean == "/" or ":" in path:
        raise click.BadParameter(f"{value!r}: the mount path must be an absolute folder other than /", param_hint="--secret-volume")
    for reserved in _RESERVED_PATHS:
        if clean == reserved or clean.startswith(reserved + "/") or reserved.startswith(clean + "/"):
            raise click.BadParameter(
                f"{value!r}: {clean} would hide or overlap {reserved}, which the pod needs; mount it elsewhere, e.g. /var/secrets/{name}",
                param_hint="--secret-volume",
            )
    return name, clean


def _argo_ui_url(value: str | None) -> str | None:
    """`--argo-ui-url`: an http(s) address with a host and no query, user or password (links are built on it)."""
    from urllib.parse import urlsplit

    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment or "@" in parts.netloc:
        raise click.BadParameter(
            f"{value!r} is not the Argo UI's address: give http(s)://host[:port][/path], without a query or credentials "
            "(e.g. https://argo.example.com)",
            param_hint="--argo-ui-url",
        )
    return value.rstrip("/")


def _pod_settings(kwargs: dict[str, Any]) -> PodSettings:
    """The pod flags (removed from `kwargs`) as PodSettings, each value checked; a usage error otherwise."""
    volumes = tuple(_secret_volume(value) for value in kwargs.pop("secret_volumes"))
    paths = [path for _, path in volumes]
    for path in paths:
        if paths.count(path) > 1:
            raise click.BadParameter(f"two Secrets are mounted at {path}", param_hint="--secret-volume")
    return PodSettings(
        env_from_config_maps=tuple(
            dict.fromkeys(_secret_name(v, "--env-from-configmap", "ConfigMap") or "" for v in kwargs.pop("env_from_config_maps"))
        ),
        env_from_secrets=tuple(dict.fromkeys(_secret_name(v, "--env-from-secret") or "" for v in kwargs.pop("env_from_secrets"))),
        service_account=_secret_name(kwargs.pop("service_account"), "--service-account", "ServiceAccount"),
        secret_volumes=volumes,
        argo_ui_url=_argo_ui_url(kwargs.pop("argo_ui_url")),
    )


_POD_OPTIONS = (
    click.option(
        "--env-from-configmap", "env_from_config_maps", multiple=True, metavar="NAME",
        help="Every key of this ConfigMap becomes a variable in every task pod (repeatable), e.g. AIRFLOW__SECRETS__BACKEND.",
    ),
    click.option(
        "--env-from-secret", "env_from_secrets", multiple=True, metavar="NAME",
        help="Every key of this Secret becomes a variable in every task pod (repeatable; after the ConfigMaps, so it wins a key).",
    ),
    click.option(
        "--service-account", metavar="NAME",
        help="The Kubernetes ServiceAccount every pod of the run uses (GKE Workload Identity, EKS IRSA).",
    ),
    click.option(
        "--secret-volume", "secret_volumes", multiple=True, metavar="NAME:PATH",
        help="Mount this Secret's keys as read-only files in PATH of every task pod (repeatable), for file-based secrets backends.",
    ),
    click.option(
        "--argo-ui-url", metavar="URL",
        help="The Argo UI's address: ti.log_url (and alert e-mails) link the task's pod there.  [default: a placeholder]",
    ),
)


def pod_options(function: Any) -> Any:
    """The flags naming what every task pod reads from Kubernetes (names, never values), given to `function` as `pod`."""

    @functools.wraps(function)
    def with_pod(*args: Any, **kwargs: Any) -> Any:
        return function(*args, pod=_pod_settings(kwargs), **kwargs)

    for option in reversed(_POD_OPTIONS):
        with_pod = option(with_pod)
    return with_pod
def _pool_slots(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, int]:
    """`--pool-slots NAME=N` (repeatable) as {pool: slots}, or a usage error."""
    slots: dict[str, int] = {}
    for value in values:
        name, sep, text = value.rpartition("=")
        if not sep or not name or not text.strip().isdigit() or int(text) < 1:
            raise click.BadParameter(f"{value!r} is not POOL=N with N a positive integer", param_hint="--pool-slots")
        slots[name] = int(text)
    return slots


POOL_SLOTS_HELP = (
    "Slots of an Airflow pool (repeatable): the limit of its Argo semaphore. Pools without a value get 1; "
    "default_pool gets a semaphore only when named here."
)

# The flags that shape the emitted Workflow, defined once: bridge backfill takes the same ones as
# bridge split, so that every backfill mode starts exactly the Workflow the split wrote.
image_option = click.option("--image", help="Image the Workflow's pods run.  [default: bridge/<dag name>:latest]")
namespace_option = click.option(
    "--namespace", callback=lambda _ctx, _param, value: _namespace(value), help="Kubernetes namespace written into the manifests."
)
gcp_key_secret_option = click.option(
    "--gcp-key-secret",
    metavar="SECRET",
    callback=lambda _ctx, _param, value: _secret_name(value),
    help="Mount this Secret's key.json read-only in every task pod and point GOOGLE_APPLICATION_CREDENTIALS at it.",
)
emit_option = click.option(
    "--emit",
    type=click.Choice(list(WORKFLOW_KINDS)),
    default="workflow",
    show_default=True,
    help="workflowtemplate: also an Argo WorkflowTemplate, which the CronJob/CronWorkflow reference instead of embedding the spec.",
)
pool_slots_option = click.option(
    "--pool-slots", "pool_slots", multiple=True, metavar="POOL=N", callback=_pool_slots, help=POOL_SLOTS_HELP
)


def _argo_version(value: str) -> ArgoVersion:
    from bridge.argo.versions import parse_argo_version

    try:
        return parse_argo_version(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--argo-version") from None


argo_version_option = click.option(
    "--argo-version",
    metavar="X.Y[.Z]",
    default=ARGO_DEFAULT,
    show_default=True,
    callback=lambda _ctx, _param, value: _argo_version(value),
    help="The Argo Workflows release of the cluster, 3.6 to 4.1 (X.Y: the line's newest patch); docs/COMPATIBILITY.md.",
)


def _fail(error: BridgeError) -> None:
    click.echo(f"bridge: error: {error}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bridge")
def main() -> None:
    """Run Apache Airflow DAGs on Argo Workflows, one container per task."""


def folder_options(function: Any) -> Any:
    """--dags-folder and --plugins-folder: the folders Airflow would use for PATH (docs/DESIGN.md, "Projects")."""
    function = click.option(
        "--plugins-folder",
        type=click.Path(file_okay=False),
        help="Airflow's plugins folder, carried and loaded.  [default: a plugins/ folder beside the dags folder]",
    )(function)
    return click.option(
        "--dags-folder",
        type=click.Path(file_okay=False),
        help="The dags folder Airflow puts on sys.path.  [default: PATH when a folder, else its folder]",
    )(function)


@main.command()
@click.argument("path")
@click.option("--dag-id", "dag_ids", multiple=True, help="Split only this DAG (repeatable).  [default: every DAG]")
@folder_options
@click.option("--skip-broken", is_flag=True, help="Split the DAGs of the files that load, listing the broken ones.")
@click.option("-o", "--output", "output", default="build", show_default=True, help="Output folder.")
@image_option
@namespace_option
@click.option("--force", is_flag=True, help="Overwrite files edited since bridge wrote them.")
@click.option(
    "--schedule",
    type=click.Choice(["cronjob", "cronworkflow", "none"]),
    default="cronjob",
    show_default=True,
    help="What runs the DAG's schedule: a CronJob running bridge submit, an Argo CronWorkflow, or nothing.",
)
@gcp_key_secret_option
@pod_options
@pool_slots_option
@emit_option
@argo_version_option
def split(
    path: str,
    dag_ids: tuple[str, ...],
    dags_folder: str | None,
    plugins_folder: str | None,
    skip_broken: bool,
    output: str,
    image: str | None,
    namespace: str | None,
    force: bool,
    schedule: str,
    gcp_key_secret: str | None,
    pool_slots: dict[str, int],
    emit: str,
    pod: PodSettings,
    argo_version: ArgoVersion,
) -> None:
    """Split PATH (a DAG file or a dags folder): per DAG, single-task DAG files, an Argo Workflow and its
    schedule; for them all, one image recipe and a kustomization.yaml."""
    from bridge.split import split_project

    try:
        result = split_project(
            path,
            dags_folder=dags_folder,
            plugins_folder=plugins_folder,
            dag_ids=dag_ids,
            skip_broken=skip_broken,
            output=output,
            image=image,
            namespace=namespace,
            force=force,
            schedule=schedule,
            gcp_key_secret=gcp_key_secret,
            pool_slots=pool_slots,
            emit=emit,
            pod=pod,
            argo_version=argo_version,
        )
    except BridgeError as error:
        _fail(error)
        return
    changed = len(result.changed)
    root = os.path.normpath(output)
    tasks = sum(dag.task_count for dag in result.dags)
    what = f"DAG {result.dags[0].dag_id!r}" if len(result.dags) == 1 else f"{len(result.dags)} DAGs"
    click.echo(
        f"bridge: split {what} into {tasks} tasks -> {root}/ ({changed} file{'s' if changed != 1 else ''} changed)"
    )
    if len(result.dags) == 1:
        only = result.dags[0]
        click.echo(f"  workflow: {only.workflow_path}")
        if only.sync_path:
            click.echo(f"  first:    kubectl apply -f {only.sync_path}   (semaphore limits; Argo fails runs without them)")
        click.echo(f"  submit:   argo submit {only.workflow_path} -p run-date=YYYYMMDD")
        if only.template_path:
            name = os.path.splitext(os.path.basename(only.template_path))[0]
            click.echo(f"  template: kubectl apply -f {only.template_path}   (before the schedule; it references the template)")
            click.echo(f"            argo submit --from workflowtemplate/{name} -p run-date=YYYYMMDD")
    else:
        for dag in result.dags:
            click.echo(f"  {dag.dag_id}: {dag.workflow_path} ({dag.task_count} task{'s' if dag.task_count != 1 else ''})")
        click.echo(f"  install:  kubectl apply -k {root}   (schedules, semaphore limits and WorkflowTemplates)")
        click.echo(f"  submit:   argo submit {root}/workflows/<name>.yaml -p run-date=YYYYMMDD")
    click.echo(f"  image:    podman build -f images/Dockerfile -t {result.image} {root}")
    for warning in result.warnings:
        click.echo(f"bridge: warning: {warning}", err=True)


def _parameter(values: tuple[str, ...]) -> dict[str, str]:
    parameters = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE", param_hint="-p/--parameter")
        parameters[name] = text
    return parameters


def normalise_run_date(value: str) -> str:
    """`--run-date` checked by bridge's one date rule (bridge.dates), else a usage error; `20240101` -> `2024-01-01`."""
    from bridge.dates import check_run_date

    try:
        return check_run_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--run-date") from None


@main.command()
@click.argument("dag_file", metavar="PATH")
@click.option(
    "--run-date",
    required=True,
    callback=lambda _ctx, _param, value: normalise_run_date(value),
    help="Airflow logical date: YYYYMMDD, YYYY-MM-DD or ISO date-time.",
)
@click.option("--dag-id", help="The DAG to run when PATH holds several.")
@folder_options
@click.option("--parallelism", type=click.IntRange(min=1), help="Tasks running at once.  [default: the DAG's max_active_tasks]")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), help="Write the run's JSON report here.")
@click.option("-p", "--parameter", "parameters", multiple=True, metavar="NAME=VALUE", help="Workflow parameter (a DAG param), as with argo submit -p.")
@click.option("--retry-delay-scale", type=click.FloatRange(min=0), default=1.0, show_default=True, help="Multiply retry delays (0: retry at once).")
@click.option("--keep", is_flag=True, help="Keep the split folder and task logs (always kept when the run fails).")
@click.option(
    "--engine",
    type=click.Choice(["host", "podman", "docker"]),
    default="host",
    show_default=True,
    help="Where pods run: local processes, or containers of the built image.",
)
@click.option("--image", help="With --engine podman|docker: the image to run.  [default: the Workflow's, bridge/<dag name>:latest]")
@click.option("--env", "pass_env", multiple=True, metavar="NAME", help="With --engine podman|docker: pass this variable of your environment to the containers.")
@click.option("--pool-slots", "pool_slots", multiple=True, metavar="POOL=N", callback=_pool_slots, help=POOL_SLOTS_HELP)
@pod_options
@click.option(
    "--secrets-dir",
    type=click.Path(file_okay=False, exists=True),
    help="Stand-ins for the namespace's Secrets and ConfigMaps: DIR/<name>/<key> files (docs/LOCAL.md).",
)
@argo_version_option
@click.option(
    "--lose-pod", "lose_pods", multiple=True, metavar="TASK",
    help="Lose every pod of this task as on a failed Kubernetes node: Error 'pod deleted', no outputs (a fault test).",
)
def run(
    dag_file: str,
    run_date: str,
    dag_id: str | None,
    dags_folder: str | None,
    plugins_folder: str | None,
    parallelism: int | None,
    report_file: str | None,
    parameters: tuple[str, ...],
    retry_delay_scale: float,
    keep: bool,
    engine: str,
    image: str | None,
    pass_env: tuple[str, ...],
    pool_slots: dict[str, int],
    pod: PodSettings,
    secrets_dir: str | None,
    argo_version: ArgoVersion,
    lose_pods: tuple[str, ...],
) -> None:
    """Run a DAG of PATH (a DAG file or a dags folder) for one date here, the way Argo runs its Workflow."""
    from bridge.run import run_dag

    try:
        outcome = run_dag(
            dag_file,
            run_date=run_date,
            dag_id=dag_id,
            dags_folder=dags_folder,
            plugins_folder=plugins_folder,
            parallelism=parallelism,
            parameters=_parameter(parameters),
            retry_delay_scale=retry_delay_scale,
            report_file=report_file,
            keep=keep,
            engine=engine,
            image=image,
            pass_env=pass_env,
            pool_slots=pool_slots,
            pod=pod,
            secrets_dir=secrets_dir,
            argo_version=argo_version,
            lose_pods=lose_pods,
        )
    except BridgeError as error:
        _fail(error)
        return
    sys.exit(0 if outcome.succeeded else 1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--strict", is_flag=True, help="Fail on warnings too (e.g. an object near Kubernetes' 1 MiB limit).")
@argo_version_option
def lint(paths: tuple[str, ...], strict: bool, argo_version: ArgoVersion) -> None:
    """Check emitted manifests (files or folders) against Argo's and Kubernetes' schemas and rules."""
    from bridge.lint import lint_paths

    report = lint_paths(paths, argo_version)
    for finding in report.findings:
        click.echo(str(finding))
    failing = len(report.errors(strict))
    warnings = sum(1 for f in report.findings if f.severity != "error")
    errors = len(report.findings) - warnings
    click.echo(
        f"bridge: lint: {len(report.files)} file{'s' if len(report.files) != 1 else ''}, "
        f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
        + (" (strict)" if strict else ""),
        err=True,
    )
    sys.exit(1 if failing else 0)


@main.command()
@click.argument("workflow_yaml", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--run-date",
    callback=lambda _ctx, _param, value: None if value is None else normalise_run_date(value),
    help="Airflow logical date to run (a manual run): YYYYMMDD, YYYY-MM-DD or ISO date-time.",
)
@click.option("--scheduled-time", help="When the schedule fired; the logical date comes from the DAG's timetable.")
@click.option("--from-cronjob", is_flag=True, help="In a CronJob: the scheduled time of this Job (see docs/SCHEDULES.md).")
@click.option("--namespace", help="Namespace to create the Workflow in.  [default: the Workflow's, the pod's, or default]")
@click.option("--dry-run", is_flag=True, help="Print the Workflow object instead of creating it.")
def submit(workflow_yaml: str, run_date: str | None, scheduled_time: str | None, from_cronjob: bool, namespace: str | None, dry_run: bool) -> None:
    """Start one run of an emitted Workflow, dated as Airflow would, named so it never starts twice."""
    from bridge.emit.yaml import to_yaml
    from bridge.schedule import submit as sub

    try:
        bodies, target = sub.prepare(workflow_yaml, run_date=run_date, scheduled_time=scheduled_time, from_cronjob=from_cronjob, namespace=namespace)
        if not bodies:
            click.echo("bridge: no run of the DAG's timetable is due at this fire; nothing to do")
            return
        if dry_run:
            click.echo("---\n".join(to_yaml(body) for body in bodies), nl=False)
            return
        api = sub.kube_api()
        for body in bodies:
            result = sub.create_workflow(api, body, target)
            state = "created" if result.created else "exists already (this run was started before); nothing to do"
            click.echo(f"bridge: workflow {result.namespace}/{result.name} {state}")
    except BridgeError as error:
        _fail(error)
        return


@main.command("logical-date")
@click.option("--timetable", "timetable_json", required=True, help="The bridge.dev/timetable annotation (of the Workflow, CronWorkflow or CronJob).")
@click.option("--scheduled-time", required=True, help="When the schedule fired (Argo: {{workflow.scheduledTime}}).")
@click.option("--outputs", type=click.Path(file_okay=False), help="Also write run-date and run-id files here.")
def logical_date(timetable_json: str, scheduled_time: str, outputs: str | None) -> None:
    """Print Airflow's logical date for a scheduled time (the CronWorkflow's first step)."""
    from bridge.model import ScheduleSpec
    from bridge.schedule import submit as sub

    try:
        run = sub.logical_run(ScheduleSpec.from_json(timetable_json), sub.parse_time(scheduled_time, "scheduled time"))
    except BridgeError as error:
        _fail(error)
        return
    values = {"run-date": run.logical_date.isoformat(), "run-id": run.run_id}
    if outputs:
        os.makedirs(outputs, exist_ok=True)
        for name, value in values.items():
            with open(os.path.join(outputs, name), "w", encoding="utf-8") as handle:
                handle.write(value)
    click.echo(values["run-date"])


@main.command()
@click.argument("dag_file", metavar="PATH")
@click.option("--start", required=True, help="First logical date of the range (inclusive).")
@click.option("--end", required=True, help="Last logical date of the range (inclusive).")
@click.option("--dag-id", help="The DAG when PATH holds several.")
@folder_options
@click.option("--dry-run", "mode", flag_value="dry-run", default=True, help="Print the argo submit commands (default).")
@click.option("--local", "mode", flag_value="local", help="Run each date on this machine with bridge run.")
@click.option("--submit", "mode", flag_value="submit", help="Create the Workflows through the Kubernetes API.")
@click.option("--max-active", type=click.IntRange(min=1), default=1, show_default=True, help="With --submit: unfinished Workflows of the DAG at most.")
@click.option("--workflow-out", type=click.Path(dir_okay=False), help="Write one Workflow that runs every date (--max-active at once).")
@image_option
@namespace_option
@gcp_key_secret_option
@pod_options
@pool_slots_option
@emit_option
@argo_version_option
def backfill(
    dag_file: str,
    start: str,
    end: str,
    dag_id: str | None,
    dags_folder: str | None,
    plugins_folder: str | None,
    mode: str,
    max_active: int,
    workflow_out: str | None,
    image: str | None,
    namespace: str | None,
    gcp_key_secret: str | None,
    pool_slots: dict[str, int],
    emit: str,
    pod: PodSettings,
    argo_version: ArgoVersion,
) -> None:
    """Run DAG_FILE for the logical dates Airflow's backfill gives between --start and --end.

    Pass the options you gave bridge split (--image, --namespace, --gcp-key-secret, --pool-slots,
    --emit, --argo-version, the pod flags such as --env-from-secret): --submit and --workflow-out start the Workflow bridge split writes with them (with
    --emit workflowtemplate, --submit and the printed commands run the WorkflowTemplate). Without
    --namespace, --submit uses kubeconfig's namespace or default.
    """
    from bridge.emit.yaml import to_yaml
    from bridge.schedule import backfill as bf
    from bridge.schedule.submit import default_namespace, kube_api, parse_time

    try:
        plan = bf.prepare_backfill(
            dag_file,
            dag_id,
            parse_time(start, "--start"),
            parse_time(end, "--end"),
            image=image,
            namespace=namespace,
            gcp_key_secret=gcp_key_secret,
            pool_slots=pool_slots,
            dags_folder=dags_folder,
            plugins_folder=plugins_folder,
            emit=emit,
            pod=pod,
            argo_version=argo_version,
        )
        click.echo(f"bridge: backfill of DAG {plan.dag_id!r}: {len(plan.runs)} runs", err=True)
        if workflow_out:
            with open(workflow_out, "w", encoding="utf-8") as handle:
                handle.write(to_yaml(bf.backfill_workflow(plan, max_active)))
            click.echo(f"bridge: wrote {workflow_out}; argo submit {workflow_out}", err=True)
        elif mode == "dry-run":
            for line in bf.argo_commands(plan):
                click.echo(line)
        elif mode == "local":
            failed = [date for date, ok in bf.run_locally(
                dag_file, plan, pool_slots=pool_slots, dags_folder=dags_folder, plugins_folder=plugins_folder, pod=pod
            ) if not ok]
            sys.exit(1 if failed else 0)
        else:
            bf.submit_all(plan, kube_api(), default_namespace(plan.workflow, namespace), max_active)
    except BridgeError as error:
        _fail(error)


if __name__ == "__main__":  # pragma: no cover
    main()
