"""XCom documents that travel between pods (`--xcom-in`, `xcom.json`); pure, no Airflow imports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Argo caps an output parameter at 256 KiB; the whole document must fit.
ARGO_PARAMETER_LIMIT = 262144

# What a task whose value does not fit can do (docs/SEMANTICS.md, "Large values").
LARGE_VALUES = (
    "Keep large values in object storage: set Airflow's AIRFLOW__CORE__XCOM_BACKEND="
    "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend with "
    "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH (s3://, gs://, ...) and _THRESHOLD (e.g. 65536) in the "
    "pods' environment (bridge split --env-from-configmap), or push the path of a file you store yourself."
)

RowKey = tuple[str, int, str]

# An output reference Argo left unresolved: 3.6, 3.7.0-3.7.10 and 4.0.0-4.0.1 leave the tag's text in
# the argument when the task it names was Skipped or Omitted (docs/COMPATIBILITY.md, Argo). Where a
# document is expected, such a tag stands for that task's document: no rows.
UNRESOLVED_OUTPUT = re.compile(r"\{\{\s*(?:tasks|steps)\.[A-Za-z0-9_.-]+\.outputs\.parameters\.[A-Za-z0-9_-]+\s*\}\}")


@dataclass(frozen=True)
class XComRow:
    """One row of Airflow's XCom table: `value` is the serialised string Airflow stored."""

    task_id: str
    map_index: int
    key: str
    value: str

    @property
    def sort_key(self) -> RowKey:
        """(task_id, map_index, key): the identity and the order of rows."""
        return (self.task_id, self.map_index, self.key)

    def to_json(self) -> dict[str, Any]:
        """The row as it appears in `xcom.json`."""
        return {"task_id": self.task_id, "map_index": self.map_index, "key": self.key, "value": self.value}


class XComDocumentError(ValueError):
    """`--xcom-in` does not hold valid XCom documents."""


def _row_from_json(raw: Any, where: str) -> XComRow:
    """Validate one `rows` entry."""
    if not isinstance(raw, dict):
        raise XComDocumentError(f"{where}: each row must be an object with task_id, map_index, key, value")
    try:
        task_id, key, value = raw["task_id"], raw["key"], raw["value"]
        map_index = int(raw.get("map_index", -1))
    except (KeyError, TypeError, ValueError) as exc:
        raise XComDocumentError(f"{where}: row {raw!r} lacks a valid {exc}") from None
    if not isinstance(task_id, str) or not isinstance(key, str) or not isinstance(value, str):
        raise XComDocumentError(f"{where}: task_id, key and value must be strings in row {raw!r}")
    return XComRow(task_id, map_index, key, value)


# A native KubernetesPodOperator pod's document: `{"pod": task_id, "value": <its return.json>}`,
# the Workflow's wrapping of the pod's raw output (bridge.emit.argo.xcom_document).
POD_KEY = "pod"
# Where the pod wrote nothing (an empty file), or an old Argo left the tag of a pod without outputs
# in place (UNRESOLVED_OUTPUT), the value is missing: no XCom, as the operator pushes none then.
_NO_POD_VALUE = re.compile(r'(\{"pod":"(?:[^"\\]|\\.)*","value":)\s*(?:' + UNRESOLVED_OUTPUT.pattern + r")?\s*(?=\})")


def _pod_row(doc: dict[str, Any], where: str) -> XComRow | None:
    """The return_value row of a pod document (JSON text, as Airflow stores a JSON value), None for none."""
    task_id, value = doc.get(POD_KEY), doc.get("value")
    if not isinstance(task_id, str):
        raise XComDocumentError(f'{where}: "pod" must name the task')
    if value is None:
        return None
    return XComRow(task_id, -1, "return_value", json.dumps(value))


def parse_documents(text: str, source: str = "--xcom-in") -> list[XComRow]:
    """Merge concatenated `{"rows": [...]}` documents; for the same row key the later one wins.

    An unresolved Argo output tag in place of a document (UNRESOLVED_OUTPUT) counts as a document
    without rows; text inside a document is never touched.
    """
    merged: dict[RowKey, XComRow] = {}
    if '{"pod":' in text:
        text = _NO_POD_VALUE.sub(r"\1null", text)
    decoder = json.JSONDecoder()
    pos, number = 0, 0
    # The Workflow joins documents with nothing in between (each is one object); accept whitespace too.
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        number += 1
        where = f"{source}: document {number}"
        unresolved = UNRESOLVED_OUTPUT.match(text, pos)
        if unresolved is not None:
            pos = unresolved.end()
            continue
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise XComDocumentError(f"{where} is not JSON ({exc.msg} at char {exc.pos})") from None
        if not isinstance(doc, dict):
            raise XComDocumentError(f'{where} must be an object like {{"rows": [...]}}')
        if POD_KEY in doc:
            row = _pod_row(doc, where)
            if row is not None:
                merged[row.sort_key] = row
            continue
        rows = doc.get("rows", [])
        if not isinstance(rows, list):
            raise XComDocumentError(f'{where}: "rows" must be a list')
        for raw in rows:
            row = _row_from_json(raw, where)
            merged[row.sort_key] = row
    return sorted(merged.values(), key=lambda r: r.sort_key)


def render_document(rows: Iterable[XComRow]) -> str:
    """One line of JSON: `{"rows": [...]}` (compact, stable key order)."""
    return json.dumps({"rows": [row.to_json() for row in rows]}, separators=(",", ":"), ensure_ascii=False)


def oversize_message(task_id: str, rows: list[XComRow], size: int) -> str | None:
    """The exit-3 message when the rendered document exceeds Argo's limit, naming the biggest value."""
    if size <= ARGO_PARAMETER_LIMIT:
        return None
    biggest = max(rows, key=lambda r: len(r.value.encode()), default=None)
    if biggest is None:
        return f"task {task_id!r}: xcom.json is {size} bytes; Argo parameters hold at most 256 KiB. {LARGE_VALUES}"
    nbytes = len(biggest.value.encode())
    owner = "" if biggest.task_id == task_id else f" (pushed upstream by {biggest.task_id!r}; {size} bytes in all)"
    return (
        f"task {task_id!r}: XCom key {biggest.key!r} is {nbytes} bytes{owner}; Argo parameters hold at most "
        f"256 KiB. {LARGE_VALUES}"
    )
