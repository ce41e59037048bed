"""The Argo Workflows releases bridge targets, and what differs between them for bridge's Workflows.

Pure data and functions, no I/O. `bridge split/run/lint --argo-version X.Y[.Z]` parse it here; the
emitter asks `has_backoff_cap`, `bridge run` asks `skipped_reference`, split and lint print
`warnings`. docs/COMPATIBILITY.md ("Argo Workflows") gives the Argo source each row comes from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# What `{{tasks.U.outputs.parameters.P}}` becomes when U was Skipped or Omitted (P declares a
# default), in a task's arguments and in its `when`:
#   default  - P's declared valueFrom.default (scope.go addSkippedNodeOutputsToScope)
#   empty    - an empty string
#   requeue  - the controller cannot resolve it, requeues the Workflow and tries again forever
#   literal  - the tag's own text stays in place
SkippedReference = Literal["default", "empty", "requeue", "literal"]

OLDEST = (3, 6)
NEWEST = (4, 1)  # the newest line bridge is tested against (tests/data/argo/v4.1.2)

# Per line: (first patch, last patch or None for "and later", behaviour), in patch order.
_SKIPPED_REFERENCE: dict[tuple[int, int], tuple[tuple[int, int | None, SkippedReference], ...]] = {
    (3, 6): ((0, None, "literal"),),
    (3, 7): ((0, 10, "literal"), (11, 12, "requeue"), (13, 15, "empty"), (16, None, "default")),
    (4, 0): ((0, 1, "literal"), (2, 3, "requeue"), (4, 6, "empty"), (7, None, "default")),
    (4, 1): ((0, None, "default"),),
}

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


@dataclass(frozen=True)
class ArgoVersion:
    """An Argo Workflows release line (`4.1`) or one patch release of it (`3.7.13`)."""

    major: int
    minor: int
    patch: int | None = None

    @property
    def line(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}" + ("" if self.patch is None else f".{self.patch}")


DEFAULT_VERSION = ArgoVersion(*NEWEST)  # what --argo-version defaults to
DEFAULT = str(DEFAULT_VERSION)


def parse_argo_version(text: str) -> ArgoVersion:
    """`X.Y` or `X.Y.Z` (a leading `v` allowed), from 3.6 on; a ValueError says what is accepted."""
    match = _VERSION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not an Argo Workflows version: give X.Y or X.Y.Z, e.g. 3.7 or 4.0.7")
    major, minor, patch = int(match[1]), int(match[2]), match[3]
    version = ArgoVersion(major, minor, None if patch is None else int(patch))
    if version.line < OLDEST:
        raise ValueError(f"Argo Workflows {version} is older than 3.6, the oldest line bridge supports")
    return version


def _newer_than_tested(version: ArgoVersion) -> bool:
    return version.line > NEWEST


def skipped_reference(version: ArgoVersion) -> SkippedReference:
    """What a reference to a Skipped/Omitted task's output becomes on `version` (a line: its newest patch)."""
    if _newer_than_tested(version):
        return "default"
    rows = _SKIPPED_REFERENCE[version.line]
    if version.patch is None:
        return rows[-1][2]
    for first, last, behaviour in rows:
        if version.patch >= first and (last is None or version.patch <= last):
            return behaviour
    raise AssertionError(f"no row for Argo {version}")  # the table covers every patch from 0


def hanging_releases(line: tuple[int, int]) -> list[str]:
    """The patch releases of `line` that requeue forever on a skipped task's output (e.g. 3.7.11, 3.7.12)."""
    names = []
    for first, last, behaviour in _SKIPPED_REFERENCE.get(line, ()):
        if behaviour == "requeue":
            assert last is not None
            names += [f"{line[0]}.{line[1]}.{patch}" for patch in range(first, last + 1)]
    return names


def has_backoff_cap(version: ArgoVersion) -> bool:
    """retryStrategy.backoff.cap (a per-retry ceiling on the delay) exists from Argo 3.7 on."""
    return version.line >= (3, 7)


def warnings(version: ArgoVersion) -> list[str]:
    """What split and lint say about `version` itself (not about a DAG)."""
    found = []
    if _newer_than_tested(version):
        found.append(f"Argo Workflows {version} is newer than {NEWEST[0]}.{NEWEST[1]}, the newest line bridge is tested on")
    elif skipped_reference(version) == "requeue":
        found.append(
            f"Argo Workflows {version} never starts a task that reads the outputs of a skipped or omitted "
            "task (the controller requeues the Workflow forever): branches, short-circuits and failure "
            f"paths hang on it; use another patch release of {version.major}.{version.minor} "
            "(docs/COMPATIBILITY.md)"
        )
    elif version.patch is None and hanging_releases(version.line):
        found.append(
            f"Argo Workflows {', '.join(hanging_releases(version.line))} hang on the Workflows bridge emits "
            f"for {version} (a skipped task's outputs are never resolved); other {version} releases work "
            "(docs/COMPATIBILITY.md)"
        )
    return found
