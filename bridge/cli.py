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


if __name__ == "__main__":  # pragma: no cover
    main()
