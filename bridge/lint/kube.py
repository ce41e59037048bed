"""Kubernetes kinds against the Kubernetes OpenAPI schemas, offline (PyPI `kubernetes-validate`).

kubernetes-validate ships the JSON schemas of every Kubernetes release; its "strict" variant
forbids fields the schema does not define. It stops at the first error, so this module builds
the same validator and reports all of them, each with its path.
"""

from __future__ import annotations

import functools
from typing import Any

from bridge.lint.findings import Problem, index, join


@functools.cache
def kubernetes_version() -> str:
    """The newest Kubernetes release whose schemas kubernetes-validate ships."""
    from kubernetes_validate import utils

    return utils.latest_version()


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
    """Schema problems of a Kubernetes kind, or None when no schema knows the kind."""
    version = version or kubernetes_version()
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
