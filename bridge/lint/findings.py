"""One lint finding: where (file and path inside it), what is wrong, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """A problem in one document of one file; `path` is a JSON-path-like location in the document."""

    file: str
    path: str
    message: str
    fix: str
    severity: str = ERROR
    rule: str = ""

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        tag = "" if self.severity == ERROR else f"{self.severity}: "
        return f"{where}: {tag}{self.message}; {self.fix}"


@dataclass(frozen=True)
class Problem:
    """A finding before it knows its file (checks work on documents, not files)."""

    path: str
    message: str
    fix: str
    severity: str = ERROR
    rule: str = ""

    def located(self, file: str, prefix: str = "") -> Finding:
        """The finding in `file`; `prefix` marks the document when a file holds several."""
        path = f"{prefix}{self.path}" if prefix else self.path
        return Finding(file, path, self.message, self.fix, self.severity, self.rule)


def join(path: str, key: str) -> str:
    """`spec` + `templates` -> `spec.templates`; keys that are not identifiers are quoted."""
    import re

    part = key if re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", key) else f"[{key!r}]"
    if not path:
        return part
    return f"{path}{part}" if part.startswith("[") else f"{path}.{part}"


def index(path: str, position: int) -> str:
    """`spec.templates` + 0 -> `spec.templates[0]`."""
    return f"{path}[{position}]"
