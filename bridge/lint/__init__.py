"""`bridge lint`: never emit what Argo or Kubernetes would reject.

Every document is checked against its schema (Argo kinds: the official `argo-workflows` client
models, with explicit unknown-field detection; Kubernetes kinds: the Kubernetes OpenAPI schemas
shipped by `kubernetes-validate`, offline) and against Argo's own rules that schemas do not
express (bridge.lint.rules). `bridge split` runs the same checks before it writes anything.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bridge.argo.versions import ArgoVersion
from bridge.errors import BridgeError
from bridge.lint.findings import ERROR, WARNING, Finding, Problem

MANIFEST_SUFFIXES = (".yaml", ".yml")


class LintError(BridgeError):
    """bridge's own output failed the lint (a bug in bridge; nothing is written)."""


@dataclass
class LintReport:
    """Findings over a set of files."""

    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def errors(self, strict: bool = False) -> list[Finding]:
        """Findings that fail the lint (warnings too when strict)."""
        return [f for f in self.findings if f.severity == ERROR or strict]

    def ok(self, strict: bool = False) -> bool:
        """True when nothing fails the lint."""
        return not self.errors(strict)


def check_document(document: Any, argo_version: ArgoVersion | None = None) -> list[Problem]:
    """Every problem of one parsed document, whatever its kind; `argo_version`: also that release's (lint/versions.py)."""
    from bridge.lint.argo_model import ARGO_API_VERSION, ARGO_KINDS, check_argo_model
    from bridge.lint.kube import check_kubernetes
    from bridge.lint.rules import check_argo_rules, check_configmap_keys, check_configmap_size, check_metadata

    if not isinstance(document, dict):
        return [Problem("", "is not a mapping, so not a Kubernetes object", "remove it or make it a manifest",
                        rule="manifest")]
    api_version, kind = document.get("apiVersion"), document.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return [Problem("", "has no apiVersion and kind, so it is not a Kubernetes manifest; not checked",
                        "lint only manifests", severity=WARNING, rule="manifest")]
    if api_version.split("/")[0] == "argoproj.io":
        if kind not in ARGO_KINDS:
            return [Problem("kind", f"{kind!r} is not an Argo Workflows kind bridge lint knows ({', '.join(ARGO_KINDS)})",
                            "check the kind", rule="manifest")]
        problems: list[Problem] = []
        if api_version != ARGO_API_VERSION:
            problems.append(Problem("apiVersion", f"{api_version!r} is not {ARGO_API_VERSION!r}",
                                    f"use {ARGO_API_VERSION}", rule="manifest"))
        problems += check_argo_model(document) + check_argo_rules(document)
        if argo_version is not None:
            from bridge.lint.versions import check_argo_version

            problems += check_argo_version(document, argo_version)
        return problems
    if api_version.startswith("kustomize.config.k8s.io/") and kind == "Kustomization":
        return check_kustomization(document)
    schema_problems = check_kubernetes(document)
    if schema_problems is None:
        return [Problem("kind", f"no Kubernetes schema knows kind {kind!r} in {api_version!r}; not checked",
                        "check apiVersion and kind (custom resources are not checked)", severity=WARNING,
                        rule="manifest")]
    return schema_problems + list(check_metadata(document)) + list(check_configmap_keys(document)) + list(check_configmap_size(document))


def check_kustomization(document: dict[str, Any]) -> list[Problem]:
    """A kustomization (not a cluster object, so no schema): `resources` must be a list of relative paths.

    Whether each path exists, and no object is listed twice, is what `kubectl kustomize` checks.
    """
    resources = document.get("resources", [])
    if not isinstance(resources, list):
        return [Problem("resources", "is not a list", "list the manifest files, one per item", rule="manifest")]
    return [
        Problem(f"resources[{index}]", f"{item!r} is not a relative path", "name files relative to the kustomization",
                rule="manifest")
        for index, item in enumerate(resources)
        if not isinstance(item, str) or not item or item.startswith("/")
    ]


def lint_text(file: str, text: str | bytes, argo_version: ArgoVersion | None = None) -> list[Finding]:
    """Findings for one manifest file's text (one or more YAML or JSON documents)."""
    import yaml

    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser: 10x faster on big Workflows
        documents = [d for d in yaml.load_all(text, Loader=loader) if d is not None]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        return [Finding(file, where, f"is not valid YAML: {problem}", "fix the syntax", rule="yaml")]
    findings: list[Finding] = []
    for number, document in enumerate(documents, start=1):
        prefix = f"document {number}: " if len(documents) > 1 else ""
        findings += [p.located(file, prefix) for p in check_document(document, argo_version)]
    return findings


# An output folder's copies of the project's own files (a pod template, a SQL file's YAML
# neighbour): not manifests of bridge's, never linted.
CARRIED_FOLDERS = ("sources/", "plugins/", "searchpath/")


def manifest_files(paths: Iterable[str]) -> list[str]:
    """Files to lint: files as given, folders searched for *.yaml/*.yml (hidden folders and an
    output folder's carried project files skipped)."""
    found: list[str] = []
    for path in paths:
        if not os.path.isdir(path):
            found.append(path)
            continue
        for folder, subfolders, files in os.walk(path):
            top = folder == path
            subfolders[:] = sorted(
                d for d in subfolders if not d.startswith(".") and not (top and f"{d}/" in CARRIED_FOLDERS)
            )
            found += [os.path.join(folder, f) for f in sorted(files) if f.endswith(MANIFEST_SUFFIXES)]
    return found


def lint_paths(paths: Iterable[str], argo_version: ArgoVersion | None = None) -> LintReport:
    """Lint files and folders of emitted manifests (for `argo_version`'s rules too, when given)."""
    report = LintReport()
    for path in manifest_files(paths):
        report.files.append(path)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            report.findings.append(Finding(path, "", f"cannot be read: {error.strerror}", "check the path", rule="io"))
            continue
        report.findings += lint_text(path, data, argo_version)
    return report


def lint_files(files: dict[str, bytes], argo_version: ArgoVersion | None = None) -> LintReport:
    """Lint rendered output files (relative path -> bytes) before they are written: the manifests only."""
    report = LintReport()
    for rel, data in sorted(files.items()):
        if rel.endswith(MANIFEST_SUFFIXES) and not rel.startswith(CARRIED_FOLDERS):
            report.files.append(rel)
            report.findings += lint_text(rel, data, argo_version)
    return report


__all__ = ["Finding", "LintError", "LintReport", "check_document", "lint_files", "lint_paths", "lint_text", "ERROR", "WARNING"]
