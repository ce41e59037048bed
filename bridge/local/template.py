"""Argo's `{{...}}` substitution (util/template: simpleReplaceStrict, ReplaceStrict, Replace). Pure."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from bridge.argo.expr import GUARDED_OUTPUT, guarded_variable

# common.AbsentOptionalArgumentValue: an argument that was a pure reference to a skipped/omitted
# node's output with no default (scope.go markAbsentOptionalArgs); the input's default applies.
ABSENT = "\x00argo-absent-optional\x00"


class SubstitutionError(ValueError):
    """A reference Argo could not resolve (the node ends in Error)."""


def _is_strict(tag: str, strict: Sequence[str] | None) -> bool:
    """template.getStrictRegex: `tasks` matches `tasks.A...` but not `tasksA`; None = allow unresolved."""
    if strict is None:
        return False
    if "*" in strict:
        return True
    return any(tag == p or tag.startswith(p + ".") for p in strict)


def substitute(text: str, scope: Mapping[str, str | None], strict: Sequence[str] | None = None) -> str:
    """Replace every `{{tag}}` found in scope; a missing strict tag raises, others stay as written."""
    if "{{" not in text:
        return text
    out: list[str] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            out.append(text[pos:])
            break
        end = text.find("}}", start + 2)
        if end < 0:
            # fasttemplate: an unterminated start tag is a template error.
            raise SubstitutionError(f"cannot find end tag='}}}}' in the template={text!r} starting from {text[start:]!r}")
        out.append(text[pos:start])
        tag = text[start + 2 : end]
        key = tag.strip()
        if key.startswith("="):
            out.append(_guarded(tag, key, scope, strict))
        elif key in scope:
            value = scope[key]
            if value is None:
                raise SubstitutionError(
                    f"unable to substitute {{{{{tag}}}}}: output is an absent optional (skipped/omitted node with no default)"
                )
            out.append(value)
        elif _is_strict(key, strict):
            raise SubstitutionError(f"failed to resolve {{{{{tag}}}}}")
        else:
            out.append("{{" + tag + "}}")
        pos = end + 2
    return "".join(out)


def _guarded(tag: str, key: str, scope: Mapping[str, str | None], strict: Sequence[str] | None) -> str:
    match = GUARDED_OUTPUT.fullmatch(key)
    if match is None:
        raise SubstitutionError(
            f"expression tag {{{{{tag}}}}} is not supported by bridge run (only simple {{{{...}}}} references "
            "and bridge's guarded output reference)"
        )
    task, default = match.group(1), match.group(3)
    prefix = f"tasks.{task}."
    if not any(name.startswith(prefix) for name in scope):
        if _is_strict(f"tasks.{task}", strict):
            raise SubstitutionError(f"failed to evaluate expression: tasks.{task} is missing")
        return "{{" + tag + "}}"
    name = guarded_variable(match)
    value = scope.get(name)
    # An absent output (no key, or nil: an absent optional) takes the default. The literal tag is how
    # bridge run models "not in scope" for the releases that leave it (resolve.skipped_outputs).
    if value is None or value == "{{" + name + "}}":
        return default
    return value


def substitute_all(value: Any, scope: Mapping[str, str | None], strict: Sequence[str] | None = None) -> Any:
    """`substitute` on every string inside a JSON-like value (Argo substitutes the marshalled object)."""
    if isinstance(value, str):
        return substitute(value, scope, strict)
    if isinstance(value, list):
        return [substitute_all(item, scope, strict) for item in value]
    if isinstance(value, dict):
        return {key: substitute_all(item, scope, strict) for key, item in value.items()}
    return copy.deepcopy(value)


def is_pure_reference(value: str) -> str | None:
    """scope.go absentOptionalRef: the key of a value that is exactly one `{{key}}`, else None."""
    if not (value.startswith("{{") and value.endswith("}}")):
        return None
    key = value[2:-2].strip()
    if "{{" in key or "}}" in key:
        return None
    return key
