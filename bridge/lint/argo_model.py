"""Argo kinds against the official Argo Workflows client models (PyPI `argo-workflows`).

The models are OpenAPI-generated classes that carry the schema as data (`openapi_types`,
`attribute_map`, `validations`, `allowed_values`, required constructor arguments). The
library itself keeps unknown keys silently (`additional_properties_type` is "anything"), so
this module walks a document against that data and reports every key the model does not
know, every wrong type, missing required field, enum and pattern, each with its path.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import inspect
import re
from collections.abc import Iterator
from typing import Any

from bridge.lint.findings import Problem, index, join

# Kind -> model module and class in argo_workflows.model.
ARGO_KINDS = {
    "Workflow": "io_argoproj_workflow_v1alpha1_workflow",
    "WorkflowTemplate": "io_argoproj_workflow_v1alpha1_workflow_template",
    "ClusterWorkflowTemplate": "io_argoproj_workflow_v1alpha1_cluster_workflow_template",
    "CronWorkflow": "io_argoproj_workflow_v1alpha1_cron_workflow",
    "WorkflowEventBinding": "io_argoproj_workflow_v1alpha1_workflow_event_binding",
}
ARGO_API_VERSION = "argoproj.io/v1alpha1"

# Fields Argo's CRDs mark `x-kubernetes-int-or-string` (the generated models say `str`):
# an integer is as valid as a string there, also inside their maps (resource limits …).
_INT_OR_STRING = frozenset({
    "activeDeadlineSeconds", "allocatedResources", "capacity", "count", "divisor", "end", "factor",
    "limit", "limits", "maxUnavailable", "minAvailable", "port", "requests", "retries", "sizeLimit", "start",
})
_SCALARS = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", dict: "a mapping", list: "a list"}


def model_version() -> str:
    """The installed argo-workflows client version (its models follow that Argo release)."""
    from importlib import metadata

    return metadata.version("argo-workflows")


def model_class(kind: str) -> type | None:
    """The argo_workflows model class for a top-level Argo kind, or None."""
    module = ARGO_KINDS.get(kind)
    if module is None:
        return None
    loaded = importlib.import_module(f"argo_workflows.model.{module}")
    return next(
        cls for name, cls in vars(loaded).items()
        if isinstance(cls, type) and name.startswith("IoArgoproj") and cls.__module__ == loaded.__name__
    )


def check_argo_model(document: dict[str, Any]) -> list[Problem]:
    """Every way `document` (an Argo kind) departs from Argo's model."""
    cls = model_class(str(document.get("kind")))
    if cls is None:
        return []
    return list(_walk_model(document, cls, "", str(document.get("kind"))))


def _is_model(candidate: Any) -> bool:
    return isinstance(candidate, type) and _is_model_class(candidate)


@functools.cache
def _is_model_class(candidate: type) -> bool:
    from argo_workflows.model_utils import OpenApiModel

    return issubclass(candidate, OpenApiModel)


@functools.cache
def _required(cls: type) -> list[str]:
    """Python names of the model's required properties (positional arguments of its constructor)."""
    signature = inspect.signature(cls._from_openapi_data)  # type: ignore[attr-defined]
    return [
        name for name, parameter in signature.parameters.items()
        if parameter.kind == parameter.POSITIONAL_OR_KEYWORD and name not in ("cls", "self")
        and parameter.default is parameter.empty
    ]


def _model_name(cls: type) -> str:
    name = cls.__name__
    return name[len("IoArgoprojWorkflowV1alpha1"):] if name.startswith("IoArgoprojWorkflowV1alpha1") else name


@functools.cache
def _json_to_py(cls: type) -> dict[str, str]:
    return {json_key: py for py, json_key in cls.attribute_map.items()}  # type: ignore[attr-defined]


def _walk_model(value: Any, cls: type, path: str, kind: str) -> Iterator[Problem]:
    from argo_workflows.model_utils import ModelSimple

    if issubclass(cls, ModelSimple):
        yield from _walk(value, cls.openapi_types["value"], path, kind, False)  # type: ignore[attr-defined]
        return
    if not isinstance(value, dict):
        yield _type_problem(path, value, f"a mapping ({_model_name(cls)})")
        return
    json_to_py = _json_to_py(cls)
    types = cls.openapi_types  # type: ignore[attr-defined]
    for key, item in value.items():
        where = join(path, str(key))
        py = json_to_py.get(str(key))
        if py is None:
            known = ", ".join(sorted(json_to_py))
            yield Problem(
                where,
                f"field {key!r} is not part of Argo's {kind} model ({_model_name(cls)} knows: {known})",
                "remove it or fix its spelling; Argo would drop it silently or reject the object",
                rule="argo-unknown-field",
            )
            continue
        if item is None:
            continue
        int_ok = str(key) in _INT_OR_STRING
        yield from _walk(item, types[py], where, kind, int_ok)
        yield from _validations(cls, py, item, where)
    for py in _required(cls):
        json_key = cls.attribute_map[py]  # type: ignore[attr-defined]
        if value.get(json_key) is None:
            yield Problem(
                join(path, json_key),
                f"required field {json_key!r} of {_model_name(cls)} is missing",
                "add it",
                rule="argo-required-field",
            )


def _validations(cls: type, py: str, item: Any, where: str) -> Iterator[Problem]:
    allowed = getattr(cls, "allowed_values", {}).get((py,))
    if allowed and isinstance(item, str) and item not in allowed.values():
        choices = ", ".join(repr(v) for v in allowed.values())
        yield Problem(where, f"{item!r} is not one of {choices}", "use one of the allowed values", rule="argo-enum")
    rules = getattr(cls, "validations", {}).get((py,)) or {}
    if isinstance(item, str):
        pattern = (rules.get("regex") or {}).get("pattern")
        if pattern and not re.search(pattern, item):
            yield Problem(where, f"{item!r} does not match {pattern}", "fix the value", rule="argo-pattern")
        if "max_length" in rules and len(item) > rules["max_length"]:
            yield Problem(where, f"is {len(item)} characters, more than {rules['max_length']}", "shorten it", rule="argo-length")


def _type_problem(path: str, value: Any, expected: str) -> Problem:
    return Problem(
        path,
        f"is {_describe(value)}, but Argo's model expects {expected}",
        "change the value's type" + ("; quote it to make it a string" if "string" in expected else ""),
        rule="argo-type",
    )


def _describe(value: Any) -> str:
    for kind, text in _SCALARS.items():
        if type(value) is kind:
            return text
    return type(value).__name__


def _walk(value: Any, allowed: tuple[Any, ...], path: str, kind: str, int_ok: bool) -> Iterator[Problem]:
    """Check `value` against an openapi_types tuple (classes, [item types], {str: (value types,)})."""
    from argo_workflows.model_utils import date, datetime, none_type

    if value is None:
        return
    simple = {t for t in allowed if isinstance(t, type) and not _is_model(t)}
    if {dict, list, str, int, bool} <= simple:  # "any type"
        return
    for candidate in allowed:
        if isinstance(candidate, list):
            if isinstance(value, list):
                for position, item in enumerate(value):
                    yield from _walk(item, tuple(candidate), index(path, position), kind, int_ok)
                return
        elif isinstance(candidate, dict):
            if isinstance(value, dict):
                (value_types,) = candidate.values()
                for key, item in value.items():
                    yield from _walk(item, value_types, join(path, str(key)), kind, int_ok)
                return
        elif _is_model(candidate):
            if isinstance(value, dict) or len(allowed) == 1:
                yield from _walk_model(value, candidate, path, kind)
                return
    if _scalar_ok(value, simple, int_ok, (date, datetime, none_type)):
        return
    expected = " or ".join(sorted({_expected(t) for t in allowed}))
    yield _type_problem(path, value, expected)


def _scalar_ok(value: Any, simple: set[type], int_ok: bool, special: tuple[type, type, type]) -> bool:
    date, datetime, _ = special
    if isinstance(value, dict):  # a free-form object, e.g. a withItems entry ([dict] in the model)
        return dict in simple
    if isinstance(value, list):
        return list in simple
    if isinstance(value, bool):
        return bool in simple
    if isinstance(value, int):
        return bool(simple & {int, float}) or (int_ok and str in simple)
    if isinstance(value, float):
        return float in simple
    if isinstance(value, str):
        return bool(simple & {str, date, datetime})
    if isinstance(value, (dt.date, dt.datetime)):  # YAML reads unquoted timestamps as dates
        return bool(simple & {str, date, datetime})
    return False


def _expected(candidate: Any) -> str:
    if isinstance(candidate, list):
        return "a list"
    if isinstance(candidate, dict):
        return "a mapping"
    if _is_model(candidate):
        return f"a mapping ({_model_name(candidate)})"
    return _SCALARS.get(candidate, getattr(candidate, "__name__", str(candidate)))
