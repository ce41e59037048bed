"""Kubernetes kinds against the Kubernetes OpenAPI schemas, offline (PyPI `kubernetes-validate`).

kubernetes-validate ships the JSON schemas of every Kubernetes release; its "strict" variant
forbids fields the schema does not define. It stops at the first error, so this module builds
the same validator and reports all of them, each with its path. Documents it can confirm valid
skip jsonschema's walk (`_surely_valid`), which is most of the cost.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

from bridge.lint.findings import Problem, index, join

# Every Kubernetes document is validated against the oldest and the newest Kubernetes release of
# the supported range: those current Argo releases are tested on (docs/COMPATIBILITY.md, "Kubernetes").
KUBERNETES_RANGE = ("1.31.0", "1.36.0")


@functools.cache
def _definitions(version: str) -> Any:
    """A registry holding one release's shared definitions (megabytes: loaded once per release, not per kind)."""
    from kubernetes_validate import utils

    definitions = utils.schema_contents(f"kubernetes-json-schema/v{version}-local-strict/_definitions.json", version)
    return referencing.Resource.from_contents(definitions) @ referencing.Registry()


@functools.lru_cache(maxsize=64)
def _validator(kind: str, api_version: str, version: str) -> tuple[Any, Any, dict[int, Any]] | None:
    """The strict schema validator of one kind, its root's resolver and the $ref targets `_surely_valid` found
    (built once per process), or None."""
    from kubernetes_validate import utils

    api = utils.re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(f"kubernetes-json-schema/v{version}-local-strict/{kind.lower()}-{api}.json", version)
        registry = referencing.Resource.from_contents(schema) @ _definitions(version)
    except FileNotFoundError:
        return None
    root = registry.resolver_with_root(referencing.jsonschema.DRAFT202012.create_resource(schema))
    return jsonschema.validators.Draft202012Validator(schema, registry=registry), root, {}


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
    built = _validator(kind, api_version, version)
    if built is None:
        return None
    validator, root, targets = built
    if validator.format_checker is None and _surely_valid(validator.schema, document, root, targets):
        return []
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


# Draft 2020-12 "type" names -> Python types whose values jsonschema's type checker accepts (a subset of them:
# isinstance would also admit subclasses, and "integer" also integral floats).
_TYPES = {"array": (list,), "boolean": (bool,), "integer": (int,), "null": (type(None),), "number": (int, float),
          "object": (dict,), "string": (str,)}


def _surely_valid(schema: Any, instance: Any, resolver: Any, targets: dict[int, Any]) -> bool:
    """True only if jsonschema would find no error in `instance` (what nearly every document is); False: ask it.

    A shortcut past jsonschema's slow walk, not a second validator: it follows Draft 2020-12 for the
    keywords the Kubernetes schemas use (no format checker), gives up on any other keyword or on what
    it cannot confirm, and so can only be wrong towards False. Errors and their messages stay jsonschema's.
    `targets`: id of a {"$ref": ...} node -> (the node, kept alive, its target and the target's resolver).
    """
    if isinstance(schema, bool):
        return schema
    for key, value in schema.items():
        if key == "type":
            if not any(type(instance) in _TYPES.get(name, ()) for name in ([value] if isinstance(value, str) else value)):
                return False
        elif key == "properties":
            if isinstance(instance, dict) and not all(
                _descend(value[name], item, resolver, targets) for name, item in instance.items() if name in value
            ):
                return False
        elif key == "additionalProperties":
            if isinstance(instance, dict) and value is not True:
                known = schema.get("properties", {})
                extras = [item for name, item in instance.items() if name not in known]
                if extras and not (isinstance(value, dict) and all(_descend(value, item, resolver, targets) for item in extras)):
                    return False
        elif key == "$ref":
            target = targets.get(id(schema))
            if target is None:
                try:
                    resolved = resolver.lookup(value)
                except referencing.exceptions.Unresolvable:
                    return False
                target = targets[id(schema)] = (schema, resolved.contents, resolved.resolver)
            if not _descend(target[1], instance, target[2], targets):
                return False
        elif key == "items":
            if isinstance(instance, list) and not all(_descend(value, item, resolver, targets) for item in instance):
                return False
        elif key == "required":
            if isinstance(instance, dict) and not all(name in instance for name in value):
                return False
        elif key == "enum":  # jsonschema compares a string with ==
            if not (isinstance(instance, str) and isinstance(value, list) and instance in value):
                return False
        elif key == "$schema":
            if value != jsonschema.Draft202012Validator.META_SCHEMA["$id"]:  # another dialect's validator
                return False
        elif key in jsonschema.Draft202012Validator.VALIDATORS and key != "format":
            return False
    return True


def _descend(schema: Any, instance: Any, resolver: Any, targets: dict[int, Any]) -> bool:
    """`_surely_valid` of a subschema; one with its own $id (a new base URI) is left to jsonschema."""
    return not (isinstance(schema, dict) and "$id" in schema) and _surely_valid(schema, instance, resolver, targets)


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
