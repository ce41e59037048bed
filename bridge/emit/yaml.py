"""The one YAML dumper: deterministic, block style, multi-line strings as literals."""

from __future__ import annotations

from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """SafeDumper that keeps dict order and indents lists under their key."""

    # PyYAML passes `indentless` by keyword; ignoring it is the point (lists indented under their key).
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:  # noqa: ARG002
        return super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:
        style: str | None = "|"
    elif value.startswith("'") or ("'" in value and ": " in value):
        style = '"'  # reads better than YAML's doubled single quotes (Argo `when` expressions)
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def to_yaml(data: Any) -> str:
    """Dump one document; dict order is the order the emitter built."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)


def to_yaml_documents(documents: list[Any]) -> str:
    """Dump several documents separated by `---`."""
    return "---\n".join(to_yaml(document) for document in documents)
