"""A pod from a processed container template, and its output parameters afterwards. Pure.

Mirrors Argo v4.1.2 workflow/controller/workflowpod.go (the main container, its env and
activeDeadlineSeconds) and workflow/executor/executor.go (SaveParameters).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.local.launcher import LOCAL_FILE_VARIABLES, PodSpec
from bridge.local.spec import WorkflowError, as_string, int_or_string, parse_duration


def pod_name(task: str, number: int) -> str:
    """Argo's retry child names: `task` for the first attempt, `task(1)`, `task(2)` … after it."""
    return task if number == 1 else f"{task}({number - 1})"


def pod_spec(
    task: str,
    template: Mapping[str, Any],
    number: int,
    *,
    workflow_name: str,
    namespace: str,
    local_env: Mapping[str, str],
) -> PodSpec:
    """The main container of attempt `number` (1-based) of `task`, in container paths."""
    container = template.get("container") or {}
    command = [str(part) for part in container.get("command") or []]
    args = [str(part) for part in container.get("args") or []]
    if not command:
        raise WorkflowError(
            f"template {template.get('name')!r} has no container.command; bridge run cannot know the image's entrypoint"
        )
    files: dict[str, str] = {}
    for art in ((template.get("inputs") or {}).get("artifacts")) or []:
        raw = art.get("raw")
        if raw is not None:
            files[str(art["path"])] = str(raw.get("data") or "")
        elif not art.get("optional"):
            raise WorkflowError(f"inputs.artifacts.{art['name']}: only raw artifacts are supported by bridge run")
    outputs = tuple(
        str(p["valueFrom"]["path"])
        for p in ((template.get("outputs") or {}).get("parameters")) or []
        if (p.get("valueFrom") or {}).get("path")
    )
    return PodSpec(
        name=pod_name(task, number),
        command=tuple(command),
        args=tuple(args),
        env=container_env(task, container, workflow_name=workflow_name, namespace=namespace, local_env=local_env),
        files=files,
        outputs=outputs,
        workdir=container.get("workingDir"),
        image=container.get("image"),
    )


def container_env(
    task: str, container: Mapping[str, Any], *, workflow_name: str, namespace: str, local_env: Mapping[str, str]
) -> dict[str, str]:
    """`env` values; secretKeyRef/configMapKeyRef come from `local_env`'s variable of the same name.

    `envFrom` is ignored: the local process inherits this machine's environment, which is
    where a developer keeps AIRFLOW_CONN_* and AIRFLOW_VAR_* values.
    """
    env: dict[str, str] = {}
    for item in container.get("env") or []:
        key = item["name"]
        if "value" in item and item.get("valueFrom") is None:
            env[key] = as_string(item.get("value")) or ""
            if key in LOCAL_FILE_VARIABLES and key in local_env:
                env[key] = local_env[key]  # the file a mounted Secret holds, on this machine
            continue
        source = item.get("valueFrom") or {}
        ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
        if ref is not None:
            if key in local_env:
                env[key] = local_env[key]
            elif not ref.get("optional"):
                kind = "secret" if "secretKeyRef" in source else "config map"
                raise WorkflowError(
                    f"task {task!r}: env {key} comes from {kind} {ref.get('name')!r} key {ref.get('key')!r}; "
                    f"set {key} in this environment to run it locally"
                )
            continue
        field_ref = (source.get("fieldRef") or {}).get("fieldPath")
        if field_ref == "metadata.name":
            env[key] = f"{workflow_name}-{task}"
        elif field_ref == "metadata.namespace":
            env[key] = namespace
        elif key in local_env:
            env[key] = local_env[key]
    return env


def pod_deadline(template: Mapping[str, Any], now: float, workflow_deadline: float | None) -> float | None:
    """workflowpod.go: activeDeadlineSeconds = min(template's, template timeout, workflow time left)."""
    limits = []
    ads = int_or_string(template.get("activeDeadlineSeconds"), f"templates.{template.get('name')}.activeDeadlineSeconds")
    if ads is not None:
        limits.append(now + ads)
    if template.get("timeout"):
        limits.append(now + parse_duration(template["timeout"]))
    if workflow_deadline is not None:
        limits.append(workflow_deadline)
    return min(limits) if limits else None


def output_parameters(
    template: Mapping[str, Any], files: Mapping[str, bytes | None]
) -> tuple[dict[str, str | None], str]:
    """executor.go SaveParameters: file text, else valueFrom.default; one trailing newline trimmed.

    Returns the values and, when a file is missing without a default, the message of that Error.
    """
    values: dict[str, str | None] = {}
    missing = ""
    for param in ((template.get("outputs") or {}).get("parameters")) or []:
        source = param.get("valueFrom") or {}
        path = source.get("path")
        if not path:
            values[param["name"]] = as_string(source.get("default"))
            continue
        data = files.get(str(path))
        if data is not None:
            text: str | None = data.decode("utf-8", errors="replace")
        else:
            text = as_string(source.get("default"))
            if text is None and not missing:
                missing = f"output parameter {param['name']!r}: open {path}: no such file or directory"
        values[param["name"]] = None if text is None else (text[:-1] if text.endswith("\n") else text)
    return values, missing


def suspend_outputs(template: Mapping[str, Any]) -> dict[str, str | None]:
    """A resumed suspend node's output parameters: their valueFrom.default (no `argo resume` locally)."""
    return {
        param["name"]: as_string((param.get("valueFrom") or {}).get("default"))
        for param in ((template.get("outputs") or {}).get("parameters")) or []
    }
