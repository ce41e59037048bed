"""Reading Argo Workflow fields: durations, int-or-string, templates, tasks. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class WorkflowError(ValueError):
    """The Workflow cannot be run at all (Argo would reject it at submit time)."""


def parse_duration(value: Any) -> float:
    """v1alpha1.ParseStringToDuration in seconds: a bare integer is seconds, else Go's time.ParseDuration."""
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return float(int(text))
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    total, pos = 0.0, 0
    for match in _DURATION_PART.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(body) or not body:
        raise WorkflowError(f"unable to parse {text!r} as a duration (examples: 300, \"300s\", \"2m\", \"1h30m\")")
    return sign * total


def int_or_string(value: Any, field: str) -> int | None:
    """intstr.Int32/Int64: an int, or a string holding one (`limit: '2'`); None when absent."""
    if value is None or value == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        raise WorkflowError(f"{field}: {value!r} is not an integer") from None


def load_workflow(path: str) -> dict[str, Any]:
    """Read one Workflow document from a YAML file."""
    with open(path, encoding="utf-8") as handle:
        documents = [doc for doc in yaml.safe_load_all(handle) if doc]
    workflows = [doc for doc in documents if isinstance(doc, dict) and doc.get("kind") == "Workflow"]
    if len(workflows) != 1:
        raise WorkflowError(f"{path}: expected exactly one Argo Workflow document, found {len(workflows)}")
    return workflows[0]


def load_config_maps(paths: list[str]) -> dict[str, dict[str, str]]:
    """ConfigMaps (name -> data) from YAML files, as `kubectl apply -f` would create them; later files win."""
    found: dict[str, dict[str, str]] = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for doc in yaml.safe_load_all(handle):
                if isinstance(doc, dict) and doc.get("kind") == "ConfigMap" and (doc.get("metadata") or {}).get("name"):
                    found[str(doc["metadata"]["name"])] = {str(k): str(v) for k, v in (doc.get("data") or {}).items()}
    return found


def templates_by_name(workflow: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """spec.templates keyed by name."""
    return {t["name"]: t for t in (workflow.get("spec") or {}).get("templates") or []}


def template_kind(template: Mapping[str, Any]) -> str:
    """Which of Argo's template types this is: container, dag, suspend, script, steps, resource …"""
    for kind in ("container", "dag", "suspend", "script", "steps", "resource", "data", "http", "plugin", "containerSet"):
        if template.get(kind) is not None:
            return kind
    return "unknown"


def as_string(value: Any) -> str | None:
    """An Argo AnyString: YAML scalars become their text (`true`, `2`), None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def argument_values(task: Mapping[str, Any]) -> dict[str, str | None]:
    """A DAG task's `arguments.parameters` as name -> value (None when it has no value)."""
    params = ((task.get("arguments") or {}).get("parameters")) or []
    return {p["name"]: as_string(p.get("value")) for p in params}
