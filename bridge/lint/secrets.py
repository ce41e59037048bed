"""No secret value in emitted files: values of secret-looking environment variables, and passwords in URIs.

`bridge split` runs in an environment that often holds credentials (AIRFLOW_CONN_*, AIRFLOW_VAR_*,
cloud keys), and it runs user code that can read them. Whatever that code does, none of those
values may reach a manifest or a task file; pods get them from Kubernetes Secrets at run time.
"""

from __future__ import annotations

import os
import re
from typing import Mapping
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


def find_secrets(files: Mapping[str, bytes], environ: Mapping[str, str] | None = None) -> list[Finding]:
    """Files that hold a secret value from the environment or a password in a URI (values never shown)."""
    values = secret_values(environ)
    findings = []
    for rel, data in sorted(files.items()):
        text = data.decode("utf-8", errors="replace")
        for value, name in values.items():
            if value in text:
                line = text.count("\n", 0, text.index(value)) + 1
                findings.append(Finding(
                    rel, f"line {line}", f"holds the value of the environment variable {name}",
                    "never pass secrets through DAG params, ids or annotations; read them in the task from a "
                    "connection or Variable (pods get them from the bridge-connections/bridge-variables Secrets)",
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
