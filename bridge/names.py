"""Airflow ids -> Argo/Kubernetes names: deterministic, valid, collision-free."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime, timezone

# DAG-task names (Argo allows 128): each name is written up to four times per edge (the task, and its
# downstreams' `depends`, `when` and XCom references), so long Airflow ids would dominate the
# Workflow's size; 63, a Kubernetes name's length, keeps ids readable (docs/SEMANTICS.md, "Size").
TASK_NAME_MAX = 63
WORKFLOW_PREFIX_MAX = 57  # generateName: Argo appends 5 chars, Kubernetes allows 63 (DNS label)
CRON_NAME_MAX = 52  # CronJob / CronWorkflow names
RUN_DAG_MAX = 48  # a run's Workflow name: + "-" + 14 digits = 63, a DNS label (Argo labels pods with it)

_INVALID = re.compile(r"[^a-z0-9-]+")
_HASH_LEN = 8


def _digest(original: str) -> str:
    return hashlib.sha256(original.encode("utf-8")).hexdigest()[:_HASH_LEN]


def _clean(original: str) -> str:
    name = re.sub("-{2,}", "-", _INVALID.sub("-", original.lower()).strip("-")) or "x"
    # Argo reads a DAG task name that begins with a digit as a number in `depends` (validate.go).
    return "t" + name if name[0].isdigit() else name


def _with_suffix(base: str, original: str, max_len: int) -> str:
    head = base[: max_len - _HASH_LEN - 1].rstrip("-") or "x"
    return f"{head}-{_digest(original)}"


def argo_name(original: str, max_len: int = TASK_NAME_MAX) -> str:
    """Map one Airflow id to a valid Argo name; a hash suffix marks any truncation."""
    base = _clean(original)
    if len(base) > max_len:
        return _with_suffix(base, original, max_len)
    return base


def argo_name_candidates(original: str, max_len: int = TASK_NAME_MAX) -> tuple[str, str]:
    """The two names `argo_names` can give an id: its own, or (in a collision) with a hash suffix."""
    return argo_name(original, max_len), _with_suffix(_clean(original), original, max_len)


def argo_names(originals: Iterable[str], max_len: int = TASK_NAME_MAX) -> dict[str, str]:
    """Map a set of ids to distinct names; every id in a collision gets a hash suffix."""
    ids = sorted(set(originals))
    first = {original: argo_name(original, max_len) for original in ids}
    counts: dict[str, int] = {}
    for name in first.values():
        counts[name] = counts.get(name, 0) + 1
    result = {}
    for original in ids:
        name = first[original]
        if counts[name] > 1:
            name = _with_suffix(_clean(original), original, max_len)
        result[original] = name
    return result


def run_name(dag_id: str, logical_date: datetime, *, precise: bool = False) -> str:
    """The Workflow name of the DAG's run at this logical date: the same for every retry, backfill
    and trigger (bridge submit, bridge backfill, TriggerDagRunOperator: bridge.runtime.trigger).
    `precise`: to the microsecond, for asset-triggered runs, which Airflow may create within a second
    of each other (the DAG part is then 6 characters shorter)."""
    moment = logical_date.astimezone(timezone.utc)
    if precise:
        return f"{argo_name(dag_id, RUN_DAG_MAX - 6)}-{moment:%Y%m%d%H%M%S%f}"
    return f"{argo_name(dag_id, RUN_DAG_MAX)}-{moment:%Y%m%d%H%M%S}"


def asset_label(uri: str, prefix: str) -> str:
    """The label key of an asset's URI on its producers' Workflows: `prefix` + a digest (a URI is no
    label name: 63 characters at most of [A-Za-z0-9._-])."""
    return f"{prefix}{hashlib.sha256(uri.encode()).hexdigest()[:40]}"
