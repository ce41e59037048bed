"""One alert format for every DAG, and the failure callback that prints it (a real project would page)."""

from __future__ import annotations


def format_alert(dag_id: str, task_id: str, message: str) -> str:
    """`[warehouse] dag.task: message`: the line an on-call engineer greps for."""
    return f"[warehouse] {dag_id}.{task_id}: {message}"


def on_failure(context) -> None:
    """`on_failure_callback` of every warehouse task: print the alert for the failed task."""
    ti = context["ti"]
    print(format_alert(ti.dag_id, ti.task_id, f"failed on {context['ds']}"))
