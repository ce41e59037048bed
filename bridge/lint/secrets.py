"""No secret value in emitted files: values of secret-looking environment variables, and passwords in URIs.

`bridge split` runs in an environment that often holds credentials (AIRFLOW_CONN_*, AIRFLOW_VAR_*,
cloud keys), and it runs user code that can read them. Whatever that code does, none of those
values may reach a manifest or a task file; pods get them from Kubernetes Secrets at run time.

Only the DAG can carry a secret into the output: the emitters are pure functions of the values
the DAG gave (`given_values`) and bridge's own template text, which holds none. So a secret
counts when a value the DAG gave holds it; a password that is a common word ("airflow") and
appears only in bridge's own text (`apache-airflow==…` in the Dockerfile) is no leak (docs/LINT.md).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote

from bridge.lint.findings import Finding

_SECRET_NAME = re.compile(
    r"^(AIRFLOW_CONN_|AIRFLOW_VAR_)|SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE|ACCESS_KEY|API_KEY|_KEY$|_KEY_",
    re.IGNORECASE,
)
_URI_PASSWORD = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@'\"]*:([^@\s/'\"]+)@")
_MIN_LENGTH = 6  # shorter values ("true", "1", "us") are too common to mean anything


def secret_values(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Secret values from the environment (value -> variable name), passwords inside URIs too."""
    environ = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for name, value in sorted(environ.items()):
        if not _SECRET_NAME.search(name) or not value:
            continue
        if len(value) >= _MIN_LENGTH:
            found.setdefault(value, name)
        for match in _URI_PASSWORD.finditer(value):
            for password in {match.group(1), unquote(match.group(1))}:
                if len(password) >= 4:
                    found.setdefault(password, f"{name} (its password)")
    return found


# Fields the loader fills from Airflow and the installed packages, not from the DAG's author: they
# name Airflow itself (`airflow.providers…`, `apache-airflow`), so they would match a password
# "airflow" without carrying anything the DAG read. `source_path` is not emitted (its basename is).
_NOT_GIVEN = frozenset({"source_path", "operator", "operator_module", "requirements", "airflow_version", "timetable",
                        "semantics", "reason", "default_max_active_runs"})
# Airflow's [operators] default_owner: the owner of every task that names none, not a value the DAG gave.
AIRFLOW_DEFAULT_OWNER = "airflow"


def _first_place(text: str, value: str) -> int:
    """Where `value` first stands as a whole token (not inside a longer word), else where it first occurs:
    the line to show for a common word ("airflow") is the one with the copy, not `apache-airflow`."""
    token = re.search(rf"(?<![\w.-]){re.escape(value)}(?![\w.-])", text)
    return token.start() if token else text.index(value)


def given_values(*sources: Any) -> Iterator[str]:
    """Every string the DAG's author (or bridge split's flags) gave, from frozen dataclasses, tuples and strings."""
    for source in sources:
        if isinstance(source, str):
            yield source
        elif isinstance(source, (tuple, list)):
            yield from given_values(*source)
        elif dataclasses.is_dataclass(source) and not isinstance(source, type):
            for item in dataclasses.fields(source):
                value = getattr(source, item.name)
                if item.name == "source_path" and isinstance(value, str):
                    yield os.path.basename(value)
                elif item.name in ("owners", "owner"):
                    owners = (value,) if isinstance(value, str) else value
                    yield from (owner for owner in owners if owner != AIRFLOW_DEFAULT_OWNER)
                elif item.name not in _NOT_GIVEN:
                    yield from given_values(value)


def find_secrets(
    files: Mapping[str, bytes], environ: Mapping[str, str] | None = None, given: Iterable[str] | None = None
) -> list[Finding]:
    """Files that hold a secret value from the environment or a password in a URI (values never shown).

    With `given` (the values the DAG gave, `given_values`), only the secrets one of them holds are
    looked for: the rest of the files' text is bridge's own.
    """
    values = secret_values(environ)
    if given is not None:
        texts = list(given)
        values = {value: name for value, name in values.items() if any(value in text for text in texts)}
    findings = []
    for rel, data in sorted(files.items()):
        text = data.decode("utf-8", errors="replace")
        for value, name in values.items():
            if value in text:
                line = text.count("\n", 0, _first_place(text, value)) + 1
                findings.append(Finding(
                    rel, f"line {line}", f"holds the value of the environment variable {name}",
                    "never pass secrets through DAG params, ids or annotations, nor bridge split's flags (they take "
                    "names of Kubernetes objects); read them in the task from a connection or Variable (pods get "
                    "them from the bridge-connections/bridge-variables Secrets, --env-from-secret, a secrets backend)",
                    rule="secret",
                ))
        for match in _URI_PASSWORD.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            findings.append(Finding(
                rel, f"line {line}", "holds a URI with a password (user:password@host)",
                "keep connection URIs in the bridge-connections Secret and reference the connection id",
                rule="secret",
            ))
    return findings
