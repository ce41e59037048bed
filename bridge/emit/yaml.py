"""The one YAML dumper: deterministic, block style, multi-line strings as literals."""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.emitter import ScalarAnalysis

# Scalars made of these characters only (most names, ids and values bridge writes) analyse the same way
# whatever they hold: PyYAML's character-by-character analysis (pure Python, a third of a project
# split's time) is skipped for them. tests/test_yaml.py compares the shortcut with PyYAML's own.
SIMPLE_SCALAR = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]*\Z")
# Multi-line printable-ASCII text (a Workflow inside a ConfigMap, scripts): the flags follow from a few
# substring tests, because line breaks already rule out plain styles.
ASCII_TEXT = re.compile(r"[\x20-\x7e\n]*\n[\x20-\x7e\n]*\Z")


class _Dumper(yaml.SafeDumper):
    """SafeDumper that keeps dict order and indents lists under their key."""

    # PyYAML passes `indentless` by keyword; ignoring it is the point (lists indented under their key).
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:  # noqa: ARG002
        return super().increase_indent(flow, False)

    def analyze_scalar(self, scalar: str) -> ScalarAnalysis:
        if SIMPLE_SCALAR.match(scalar):
            return ScalarAnalysis(
                scalar=scalar, empty=False, multiline=False, allow_flow_plain=True, allow_block_plain=True,
                allow_single_quoted=True, allow_double_quoted=True, allow_block=True,
            )
        if ASCII_TEXT.match(scalar):
            space_break, break_space = " \n" in scalar, "\n " in scalar
            return ScalarAnalysis(
                scalar=scalar, empty=False, multiline=True, allow_flow_plain=False, allow_block_plain=False,
                allow_single_quoted=not (space_break or break_space), allow_double_quoted=True,
                allow_block=not (space_break or scalar.endswith(" ")),
            )
        return super().analyze_scalar(scalar)


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
