"""`bridge lint --argo-version`: what one Argo Workflows release rejects or mishandles in a document.

The schema checks follow the `argo-workflows` models bridge pins (the newest line); this adds, for
an older release, the fields it does not know yet and a warning when the release is one of those
that hang on bridge's Workflows (bridge.argo.versions, docs/COMPATIBILITY.md). Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bridge.argo.versions import ArgoVersion, has_backoff_cap, skipped_reference
from bridge.argo.versions import warnings as version_warnings
from bridge.lint.findings import WARNING, Problem
from bridge.lint.rules import ARGO_WORKFLOW_KINDS


def check_argo_version(document: dict[str, Any], version: ArgoVersion) -> list[Problem]:
    """Problems of one Argo document on `version` (nothing for kinds without templates)."""
    if document.get("kind") not in ARGO_WORKFLOW_KINDS:
        return []
    spec = document.get("spec")
    path = "spec"
    if document.get("kind") == "CronWorkflow" and isinstance(spec, dict):
        spec, path = spec.get("workflowSpec"), "spec.workflowSpec"
    problems: list[Problem] = []
    if skipped_reference(version) == "requeue" and _reads_task_outputs(spec):
        problems += [Problem("", text, "target another patch release", severity=WARNING, rule="argo-version")
                     for text in version_warnings(version)]
    if isinstance(spec, dict):
        problems += list(_template_fields(spec, path, version))
    return problems


def _reads_task_outputs(spec: Any) -> bool:
    """Whether any DAG task reads another task's outputs (the references the hanging releases never resolve)."""
    text = str(spec)
    return "outputs.parameters." in text and "{{tasks." in text


def _template_fields(spec: dict[str, Any], path: str, version: ArgoVersion) -> Iterator[Problem]:
    templates = spec.get("templates")
    if not isinstance(templates, list):
        return
    for number, template in enumerate(templates):
        if not isinstance(template, dict):
            continue
        backoff = (template.get("retryStrategy") or {}).get("backoff")
        if isinstance(backoff, dict) and "cap" in backoff and not has_backoff_cap(version):
            yield Problem(
                f"{path}.templates[{number}].retryStrategy.backoff.cap",
                f"Argo {version} has no backoff.cap (it came in 3.7): the cluster refuses the field",
                f"remove it, or split again with --argo-version {version}",
                rule="argo-version",
            )
