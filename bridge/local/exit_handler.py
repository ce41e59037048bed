"""What Argo gives a Workflow's exit handler (`spec.onExit`): the run's phase and its failed nodes. Pure.

Argo v4.1.2 workflow/controller/operator.go `operate`: once the entry node is fulfilled,
`workflow.status` is the entry node's phase mapped to a workflow phase, and `workflow.failures`
is every node of `status.nodes` in phase Failed or Error as a `failedNodeStatus` (displayName,
message, templateName, phase, podName, finishedAt), `json.Marshal`led and then `strconv.Quote`d
(so the value is a JSON string holding the JSON list; `"null"` when no node failed). Then the
exit handler runs as the node `<workflow>.onExit` (common.GenerateOnExitNodeName).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from bridge.local.result import rfc3339

# operator.go: the entry node's phase -> the workflow's (Skipped and Omitted count as Succeeded).
WORKFLOW_PHASE = {"Succeeded": "Succeeded", "Skipped": "Succeeded", "Omitted": "Succeeded", "Failed": "Failed", "Error": "Error"}
FAILED_PHASES = ("Failed", "Error")
ON_EXIT = "onExit"


@dataclass(frozen=True)
class FailedNode:
    """One failedNodeStatus: a node of the run in phase Failed or Error."""

    node_name: str  # <workflow>.<node key>, or the workflow's name for the entry node
    display_name: str
    message: str
    template_name: str
    phase: str
    finished_at: float | None


def exit_node_name(workflow_name: str) -> str:
    """common.GenerateOnExitNodeName: `<workflow>.onExit`."""
    return f"{workflow_name}.{ON_EXIT}"


def pod_name(workflow_name: str, node_name: str, template_name: str) -> str:
    """workflow/util/pod_name.go GeneratePodName, v2 (the default): `<workflow>-<template>-<fnv32a(node name)>`."""
    if workflow_name == node_name:
        return workflow_name
    prefix = f"{workflow_name}-{template_name}" if template_name else workflow_name
    prefix = prefix[:242]  # maxPrefixLength - 1 (253 - 10 - 1)
    digest = 0x811C9DC5
    for byte in node_name.encode():
        digest = ((digest ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{prefix}-{digest}"


def _go_json(value: object) -> str:
    """encoding/json.Marshal's text: compact, non-ASCII kept, and its HTML-safe escapes of <, >, & and U+2028/9."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", '"': '\\"', "\\": "\\\\"}


def go_quote(text: str) -> str:
    """strconv.Quote: a double-quoted Go string literal (printable runes kept, the rest escaped)."""
    out = ['"']
    for char in text:
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif char == " " or (char.isprintable() and unicodedata.category(char) != "Zs"):
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


def workflow_failures(workflow_name: str, failed: Iterable[FailedNode]) -> str:
    """The value of `{{workflow.failures}}`: the quoted JSON list (Argo's order is Go map order; here DAG order)."""
    entries = [
        {
            "displayName": node.display_name,
            "message": node.message,
            "templateName": node.template_name,
            "phase": node.phase,
            "podName": pod_name(workflow_name, node.node_name, node.template_name),
            "finishedAt": None if node.finished_at is None else rfc3339(node.finished_at),
        }
        for node in failed
    ]
    return go_quote(_go_json(entries or None))


def workflow_phase(entry_phase: str) -> str:
    """`{{workflow.status}}` for the entry node's phase."""
    return WORKFLOW_PHASE.get(entry_phase, "Error")


def phase_after_exit(phase: str, message: str, exit_phase: str | None, exit_message: str) -> tuple[str, str]:
    """operator.go: a Succeeded run whose exit node Failed (Errored) ends Failed (Error) with its message; else unchanged."""
    if phase == "Succeeded" and exit_phase in FAILED_PHASES:
        return exit_phase, exit_message
    return phase, message
