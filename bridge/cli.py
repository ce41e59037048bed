"""The `bridge` command: parse, call, write, map errors to exit codes."""

from __future__ import annotations

import os
import sys

import click

from bridge import __version__
from bridge.errors import BridgeError


def _fail(error: BridgeError) -> None:
    click.echo(f"bridge: error: {error}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bridge")
def main() -> None:
    """Run Apache Airflow DAGs on Argo Workflows, one container per task."""


@main.command()
@click.argument("dag_file")
@click.option("--dag-id", help="The DAG to split when the file defines several.")
@click.option("-o", "--output", "output", default="build", show_default=True, help="Output folder.")
@click.option("--image", help="Image the Workflow's pods run.  [default: bridge/<dag name>:latest]")
@click.option("--namespace", help="Kubernetes namespace written into the manifests.")
@click.option("--force", is_flag=True, help="Overwrite files edited since bridge wrote them.")
def split(dag_file: str, dag_id: str | None, output: str, image: str | None, namespace: str | None, force: bool) -> None:
    """Split DAG_FILE into single-task DAG files, an Argo Workflow and an image recipe."""
    from bridge.split import split_dag

    try:
        result = split_dag(dag_file, dag_id=dag_id, output=output, image=image, namespace=namespace, force=force)
    except BridgeError as error:
        _fail(error)
        return
    changed = len(result.changed)
    click.echo(
        f"bridge: split DAG {result.dag_id!r} into {result.task_count} tasks -> {os.path.normpath(output)}/ "
        f"({changed} file{'s' if changed != 1 else ''} changed)"
    )
    click.echo(f"  workflow: {result.workflow_path}")
    click.echo(f"  submit:   argo submit {result.workflow_path} -p run-date=YYYYMMDD")


def _parameter(values: tuple[str, ...]) -> dict[str, str]:
    parameters = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE", param_hint="-p/--parameter")
        parameters[name] = text
    return parameters


def normalise_run_date(value: str) -> str:
    """`20240101` -> `2024-01-01`; other accepted forms (checked by bridge-task) stay as given."""
    text = value.strip()
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


@main.command()
@click.argument("dag_file")
@click.option("--run-date", required=True, help="Airflow logical date: YYYYMMDD, YYYY-MM-DD or ISO date-time.")
@click.option("--dag-id", help="The DAG to run when the file defines several.")
@click.option("--parallelism", type=click.IntRange(min=1), help="Tasks running at once.  [default: the DAG's max_active_tasks]")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), help="Write the run's JSON report here.")
@click.option("-p", "--parameter", "parameters", multiple=True, metavar="NAME=VALUE", help="Workflow parameter (a DAG param), as with argo submit -p.")
@click.option("--retry-delay-scale", type=click.FloatRange(min=0), default=1.0, show_default=True, help="Multiply retry delays (0: retry at once).")
@click.option("--keep", is_flag=True, help="Keep the split folder and task logs (always kept when the run fails).")
def run(
    dag_file: str,
    run_date: str,
    dag_id: str | None,
    parallelism: int | None,
    report_file: str | None,
    parameters: tuple[str, ...],
    retry_delay_scale: float,
    keep: bool,
) -> None:
    """Run DAG_FILE for one date on this machine, the way Argo runs the emitted Workflow."""
    from bridge.local.run import run_dag

    try:
        outcome = run_dag(
            dag_file,
            run_date=normalise_run_date(run_date),
            dag_id=dag_id,
            parallelism=parallelism,
            parameters=_parameter(parameters),
            retry_delay_scale=retry_delay_scale,
            report_file=report_file,
            keep=keep,
        )
    except BridgeError as error:
        _fail(error)
        return
    sys.exit(0 if outcome.succeeded else 1)


if __name__ == "__main__":  # pragma: no cover
    main()
