"""Hand-built Workflow dicts whose container templates run tiny Python scripts."""

from __future__ import annotations

import sys
from typing import Any

# Every script gets its output folder as argv[1] (/tmp/out in the pod) and `put(name, text)`.
PRELUDE = (
    "import os, sys, time\n"
    "out = sys.argv[1]\n"
    "os.makedirs(out, exist_ok=True)\n"
    "def put(name, text):\n"
    "    with open(os.path.join(out, name), 'w') as handle:\n"
    "        handle.write(text)\n"
)


def py_template(
    name: str = "py",
    *,
    outputs: dict[str, str | None] | None = None,
    inputs: dict[str, str | None] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A container template running `inputs.parameters.code` with the prelude; outputs read from /tmp/out/<name>."""
    params: list[dict[str, Any]] = [{"name": "code", "default": "pass"}]
    for key, default in (inputs or {}).items():
        params.append({"name": key} if default is None else {"name": key, "default": default})
    outs = []
    for key, default in (outputs if outputs is not None else {"value": "dflt", "state": "failed"}).items():
        value_from: dict[str, Any] = {"path": f"/tmp/out/{key}"}
        if default is not None:
            value_from["default"] = default
        outs.append({"name": key, "valueFrom": value_from})
    template: dict[str, Any] = {
        "name": name,
        "inputs": {"parameters": params},
        "outputs": {"parameters": outs},
        "container": {
            "image": "python:3",
            "command": [sys.executable],
            "args": ["-c", PRELUDE + "{{inputs.parameters.code}}", "/tmp/out"],
        },
    }
    template.update(extra)
    return template


def task(name: str, code: str = "pass", *, template: str = "py", **fields: Any) -> dict[str, Any]:
    """A DAG task passing `code` (and any extra `params`) to its template."""
    params = [{"name": "code", "value": code}]
    for key, value in (fields.pop("params", None) or {}).items():
        params.append({"name": key, "value": value})
    return {"name": name, "template": template, "arguments": {"parameters": params}, **fields}


def workflow(
    tasks: list[dict[str, Any]],
    templates: list[dict[str, Any]] | None = None,
    *,
    parameters: list[dict[str, Any]] | None = None,
    dag: dict[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A Workflow whose entrypoint DAG `main` has `tasks`."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "test-"},
        "spec": {
            "entrypoint": "main",
            "arguments": {"parameters": parameters or []},
            "templates": [{"name": "main", "dag": {"tasks": tasks, **(dag or {})}}, *(templates or [py_template()])],
            **spec,
        },
    }
