"""Kubernetes kinds against the Kubernetes OpenAPI schemas, offline (PyPI `kubernetes-validate`).

kubernetes-validate ships the JSON schemas of every Kubernetes release; its "strict" variant
forbids fields the schema does not define. It stops at the first error, so this module builds
the same validator and reports all of them, each with its path.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from bridge.lint.findings import Problem, index, join

# Every Kubernetes document is validated against the oldest and the newest Kubernetes release of
# the supported range: those current Argo releases are tested on (docs/COMPATIBILITY.md, "Kubernetes").
KUBERNETES_RANGE = ("1.31.0", "1.36.0")


@functools.lru_cache(maxsize=64)
def _validator(kind: str, api_version: str, version: str) -> Any:
    """The strict schema validator of one kind (built once per process: the schemas are megabytes), or None."""
    import jsonschema
    import referencing
    from kubernetes_validate import utils

    api = utils.re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{version}-local-strict"
    try:
        schema = utils.schema_contents(f"{folder}/{kind.lower()}-{api}.json", version)
        definitions = utils.schema_contents(f"{folder}/_definitions.json", version)
    except FileNotFoundError:
        return None
    registry = referencing.Resource.from_contents(schema) @ referencing.Registry()
    registry = referencing.Resource.from_contents(definitions) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def check_kubernetes(document: dict[str, Any], version: str | None = None) -> list[Problem] | None:
    """Schema problems of a Kubernetes kind on `version`, else on each release of KUBERNETES_RANGE
    (a problem found on both is reported once); None when no schema knows the kind."""
    if version is not None:
        return _check(document, version)
    found: dict[tuple[str, str], Problem] = {}
    releases: dict[tuple[str, str], list[str]] = {}
    known = False
    for release in KUBERNETES_RANGE:
        problems = _check(document, release)
        if problems is None:
            continue
        known = True
        for problem in problems:
            key = (problem.path, problem.message.replace(f"Kubernetes {release}", "Kubernetes {}"))
            found.setdefault(key, problem)
            releases.setdefault(key, []).append(release)
    if not known:
        return None
    merged = []
    for key, problem in found.items():
        if len(releases[key]) > 1 and "Kubernetes {}" in key[1]:
            problem = replace(problem, message=key[1].replace("{}", " and ".join(releases[key])))
        elif len(releases[key]) == 1 and "Kubernetes {}" not in key[1]:
            problem = replace(problem, message=f"{problem.message} (Kubernetes {releases[key][0]})")
        merged.append(problem)
    return merged


def _check(document: dict[str, Any], version: str) -> list[Problem] | None:
    """Schema problems of a Kubernetes kind on one Kubernetes release, or None when its schemas lack the kind."""
    kind, api_version = document.get("kind"), document.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api_version, str):
        return None
    validator = _validator(kind, api_version, version)
    if validator is None:
        return None
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
        path = _path(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(error.schema.get("properties") or {})
            for key in sorted(set(error.instance) - known):
                problems.append(Problem(
                    join(path, str(key)), f"field {key!r} is not part of Kubernetes' {kind} schema ({api_version}, "
                    f"Kubernetes {version})", "remove it or fix its spelling", rule="k8s-unknown-field",
                ))
            continue
        problems.append(Problem(path, _message(error), _fix(error), rule="k8s-schema"))
    return problems


def _path(parts: Any) -> str:
    path = ""
    for part in parts:
        path = index(path, part) if isinstance(part, int) else join(path, str(part))
    return path


def _message(error: Any) -> str:
    text = str(error.message)
    return text if len(text) <= 300 else text[:297] + "..."


def _fix(error: Any) -> str:
    if error.validator == "required":
        return "add the missing field"
    if error.validator in ("type", "enum", "format", "pattern"):
        return "change the value to what the schema allows"
    return "fix the field as the Kubernetes API reference describes"
