"""Airflow's own timetables, asked at split time (describe) and at submit/backfill time (rebuild).

`describe_schedule` records what a schedule needs as plain data (Airflow's serialised timetable,
the DAG's time restriction, a cron line when one exists). `rebuild` turns that back into the
installed Airflow's timetable object by importing only `airflow.timetables.*`, never the user's
DAG; `run_due_at` and `runs_between` then ask that object, so the answer is Airflow's.
"""

from __future__ import annotations

import contextlib
import json
import re
import types
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from bridge.errors import ScheduleError
from bridge.model import ASSETS, POLL, ScheduleSpec
from bridge.version_compat import AIRFLOW_3

UTC = timezone.utc  # noqa: UP017  (Python 3.9)
_CORE_PREFIX = "airflow.timetables."
_CRON_KINDS = {
    "airflow.timetables.interval.CronDataIntervalTimetable": "data-interval",
    "airflow.timetables.trigger.CronTriggerTimetable": "trigger",
}
# Kubernetes and Argo parse cron lines with robfig/cron's standard parser: five fields of
# numbers, names, `*`, `?`, ranges, lists and steps. Airflow's croniter also takes seconds,
# `L`, `W`, `#` and hashed `H`, which would silently mean something else (or nothing) there.
_CRON_FIELD = re.compile(r"^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?)*$")
_CRON_NAMES = re.compile(r"^(?:[0-9]+|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|SUN|MON|TUE|WED|THU|FRI|SAT)$", re.I)
_LOOKBACKS = (timedelta(hours=2), timedelta(days=2), timedelta(days=40), timedelta(days=800))


def _iso(value: Any) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat()


def _encode(dag: Any) -> tuple[dict[str, Any], Any]:
    """Airflow's own encoding of the DAG's timetable, and its time restriction (the scheduler's rule)."""
    if AIRFLOW_3:
        try:
            from airflow.serialization.encoders import encode_timetable
        except ImportError:  # Airflow 3.0 and 3.1
            from airflow.serialization.serialized_objects import encode_timetable

        return encode_timetable(dag.timetable), _scheduler_restriction(dag)
    from airflow.serialization.serialized_objects import encode_timetable as encode2

    encoded = encode2(dag.timetable)
    condition = getattr(dag.timetable, "dataset_condition", None)
    if condition is not None and "dataset_condition" in encoded["__var"]:
        encoded["__var"]["dataset_condition"] = _with_aliases(condition, encoded["__var"]["dataset_condition"])
    return encoded, dag._time_restriction


def _with_aliases(condition: Any, encoded: dict[str, Any]) -> dict[str, Any]:
    """Airflow 2's encoding of a dataset condition with its aliases kept: it encodes a DatasetAlias
    as the datasets its database resolved the alias to when the file was parsed (and re-parses the
    DAG when the alias gains one); bridge keeps the alias, resolved from events at submit time."""
    if type(condition).__name__ == "_DatasetAliasCondition":
        return {"__type": "dataset_alias", "name": str(condition.name)}
    parts = getattr(condition, "objects", None)
    if not parts or "objects" not in encoded:
        return encoded
    return {**encoded, "objects": [_with_aliases(part, text) for part, text in zip(parts, encoded["objects"])]}


def _scheduler_restriction(dag: Any) -> Any:
    """Airflow 3: the scheduler-side DAG's `_time_restriction`, computed by that code on the DAG itself.

    Its rule reads only the start and end dates of the DAG and its tasks, and catchup, which the
    SDK DAG has as the serialized one does; a full serialize/deserialize round trip (the fallback)
    costs ~10 ms a DAG, most of a project split's DAG loading.
    """
    try:
        from airflow.serialization.definitions.dag import SerializedDAG

        rule = SerializedDAG.__dict__["_time_restriction"]
        function = getattr(rule, "func", None) or rule.fget  # a cached_property (3.3) or a property
    except (ImportError, AttributeError, KeyError):
        try:
            from airflow.serialization.serialized_objects import DagSerialization
        except ImportError:  # Airflow 3.0 and 3.1
            from airflow.serialization.serialized_objects import SerializedDAG as DagSerialization

        return DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))._time_restriction
    return function(dag)


def cron_line(expression: str) -> str:
    """The expression when Kubernetes' and Argo's cron parser reads it as Airflow does, else ''."""
    fields = expression.split()
    if len(fields) != 5:
        return ""
    for text in fields:
        if not _CRON_FIELD.match(text):
            return ""
        for part in re.split(r"[,/-]", text):
            if part not in ("*", "?") and not _CRON_NAMES.match(part):
                return ""
    return " ".join(fields)


def describe_schedule(dag: Any) -> ScheduleSpec | None:
    """What a schedule needs, as plain data; None for DAGs without a schedule."""
    timetable = dag.timetable
    name = type(timetable).__name__
    if name in ("NullTimetable", "PartitionedAtRuntime"):  # never scheduled (the latter: partitions set by its tasks)
        return None
    try:
        encoded, restriction = _encode(dag)
    except Exception as exc:  # a custom timetable that no plugin registers, for instance
        path = f"{type(timetable).__module__}.{type(timetable).__qualname__}"
        return ScheduleSpec(timetable=path, data="{}", reason=f"Airflow cannot serialise the timetable ({exc})")
    path = str(encoded["__type"])
    data = encoded["__var"]
    spec = ScheduleSpec(
        timetable=path,
        data=json.dumps(data, sort_keys=True),
        start_date=_iso(restriction.earliest),
        end_date=_iso(restriction.latest),
        catchup=bool(restriction.catchup),
    )
    reason = _no_cron_reason(path)
    if not reason:
        line = cron_line(str(data.get("expression", "")))
        zone = data.get("timezone") or "UTC"
        if not line:
            reason = (f"its cron expression {data.get('expression')!r} uses syntax Kubernetes' cron parser reads "
                      "differently (seconds, L, W, #, H)")
        elif not isinstance(zone, str) or zone.startswith(("+", "-")):
            reason = f"its timezone {zone!r} is a fixed offset, which Kubernetes cannot read (it needs an IANA name)"
        else:
            return _replace(spec, cron=line, timezone=zone, semantics=_CRON_KINDS[path])
    if _asset_triggered(path):
        return _replace(spec, cron=ASSET_POLL, timezone="UTC", semantics=ASSETS, reason=reason)
    if not _pollable(path):
        return _replace(spec, reason=reason)
    poll = poll_line(spec)
    if not poll:
        return _replace(spec, reason=f"{reason}, and it gives no run to lay a schedule from")
    return _replace(spec, cron=poll, timezone="UTC", semantics=POLL, reason=reason)


ASSET_POLL = "* * * * *"  # an asset-scheduled DAG's CronJob: Airflow's scheduler looks every few seconds


def _asset_triggered(path: str) -> bool:
    """Airflow's timetables of DAGs scheduled on assets (datasets), with or without a time part."""
    short = path.rsplit(".", 1)[-1]
    return path.startswith(_CORE_PREFIX) and short in (
        "AssetTriggeredTimetable", "DatasetTriggeredTimetable", "AssetOrTimeSchedule", "DatasetOrTimeSchedule")


def asset_subject(kind: str, value: str) -> str:
    """The one string bridge keys an asset leaf by (labels, events, queues): an asset's URI; a name
    (`Asset.ref(name=...)`, and every Airflow 3 asset's name) `name:<name>`; an alias `alias:<name>`."""
    return value if kind == "uri" else f"{kind}:{value}"


def _condition(spec: ScheduleSpec) -> Any:
    """The DAG's asset condition as Airflow serialised it (its JSON: no database, any Airflow line)."""
    data = json.loads(spec.data)
    return data.get("asset_condition") or data.get("dataset_condition") or {}


def _leaf(node: Any) -> str:
    """The subject of a leaf of a serialised condition ('' for an all/any of others)."""
    kind = str(node.get("__type", ""))
    if "alias" in kind:  # asset_alias, dataset_alias
        return asset_subject("alias", str(node["name"]))
    if "objects" in node:  # asset_all/any, dataset_all/any
        return ""
    if "ref" in kind and "uri" not in node:  # Asset.ref(name=...)
        return asset_subject("name", str(node["name"]))
    return asset_subject("uri", str(node["uri"]))  # an asset (dataset), Asset.ref(uri=...)


def asset_subjects(spec: ScheduleSpec, consumed: bool = False) -> list[str]:
    """The subjects the DAG's asset condition names, depth first, once each; `consumed`: only those
    whose events a run consumes, its assets' and aliases' (Airflow 3.3's scheduler selects no event
    by a reference, `_create_dag_runs_asset_triggered`: a run triggered through one consumes none of it)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        subject = _leaf(node)
        if subject and subject not in found and not (consumed and "ref" in str(node.get("__type", ""))):
            found.append(subject)
        for part in () if subject else node.get("objects") or ():
            walk(part)

    walk(_condition(spec))
    return found


def condition_met(spec: ScheduleSpec, queued: set[str]) -> bool:
    """Whether the DAG's asset condition holds when the subjects `queued` have new events: a leaf
    holds when queued (a reference when an event of the asset it names is, an alias when an event
    emitted through it is, as Airflow's AssetEvaluator resolves them in its database), an all/any
    when all/any of its parts do."""

    def holds(node: Any) -> bool:
        subject = _leaf(node)
        if subject:
            return subject in queued
        combine = all if "all" in str(node.get("__type", "")) else any
        return combine(holds(part) for part in node.get("objects") or ())

    return holds(_condition(spec))


def asset_run_id(triggered: datetime) -> str:
    """Airflow's run id of an asset-triggered run created at `triggered` (DagRun.generate_run_id)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.types import DagRunType

    if AIRFLOW_3:
        kind = DagRunType.ASSET_TRIGGERED
        return str(DagRun.generate_run_id(run_type=kind, logical_date=None, run_after=_coerce(triggered)))
    return str(DagRun.generate_run_id(DagRunType.DATASET_TRIGGERED, _coerce(triggered)))


POLL_SAMPLE = 2000  # runs read to derive the poll line (a 5-minute delta: a week; a daily cron: 5 years)
# Without a start_date, the runs of an interval timetable are laid from whenever Airflow's scheduler
# first looks at the DAG; bridge's first look is the CronJob's first fire, on a line derived from
# runs laid from this midnight (UTC): that fire is on their grid, so every later run is too.
POLL_ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)


def _pollable(path: str) -> bool:
    """A time-based timetable bridge can rebuild at submit time: Airflow's own, or a custom one
    (a project's plugin: the image carries its plugins folder; `rebuild` imports it from there)."""
    short = path.rsplit(".", 1)[-1]
    if not path.startswith(_CORE_PREFIX):
        return True
    return ("Asset" not in short and "Dataset" not in short and "Partition" not in short
            and short not in ("ContinuousTimetable", "NullTimetable"))


def poll_line(spec: ScheduleSpec) -> str:
    """A five-field cron line (UTC) that fires at the minute of every run Airflow's timetable gives
    among its first POLL_SAMPLE runs from the start_date (without one, from POLL_ANCHOR): the union
    of their minutes and of their hours, every day (a run due at hh:mm:ss with seconds is caught
    the next minute). Extra fires are harmless: each creates the latest due run, which then exists
    already. '' without runs."""
    start = _parse(spec.start_date) or POLL_ANCHOR
    try:
        timetable = rebuild(spec)
    except Exception:  # a timetable the installed Airflow cannot deserialize
        return ""
    minutes: set[int] = set()
    hours: set[int] = set()
    for count, info in enumerate(iter_runs(timetable, _restriction(start, _parse(spec.end_date)))):
        if count >= POLL_SAMPLE or (len(minutes) == 60 and len(hours) == 24):
            break
        due = info.run_after.astimezone(UTC)
        if due.second or due.microsecond:
            due = due.replace(second=0, microsecond=0) + timedelta(minutes=1)
        minutes.add(due.minute)
        hours.add(due.hour)
    if not minutes:
        return ""
    return f"{_cron_field(minutes, 60)} {_cron_field(hours, 24)} * * *"


def _cron_field(values: set[int], size: int) -> str:
    return "*" if len(values) == size else ",".join(str(v) for v in sorted(values))


def _no_cron_reason(path: str) -> str:
    if not path.startswith(_CORE_PREFIX):
        return f"it uses the custom timetable {path}, which a cron line cannot express"
    if path in _CRON_KINDS:
        return ""
    short = path.rsplit(".", 1)[-1]
    if "Partition" in short:
        return (f"it is partitioned ({short}: Airflow 3.2's asset partitioning gives each run a partition key and "
                "its events one), which bridge does not map")
    if "Delta" in short:
        return f"its schedule is a time interval ({short}), which no cron line expresses"
    if short.endswith("OrTimeSchedule"):
        return f"it is triggered by assets/datasets or by its timetable ({short})"
    if "Asset" in short or "Dataset" in short:
        return f"it is triggered by assets/datasets ({short}), not by time"
    if short in ("OnceTimetable", "ContinuousTimetable"):
        return f"its schedule is {'@once' if short == 'OnceTimetable' else '@continuous'}, which a cron line cannot express"
    return f"its timetable {short} is not a single cron line"


def _replace(spec: ScheduleSpec, **changes: Any) -> ScheduleSpec:
    from dataclasses import replace

    return replace(spec, **changes)


# --------------------------------------------------------------------------- submit / backfill side


def rebuild(spec: ScheduleSpec) -> Any:
    """The timetable object for a recorded schedule: Airflow's own, or a custom one imported by its
    module path as Airflow imported it (a plugin module: its plugins folder on sys.path, see
    `use_plugin_folders`), from its own `deserialize` of what Airflow serialised."""
    import importlib

    from bridge.airflow.compat import aliases_unresolved, quiet_airflow

    quiet_airflow()
    module, _, name = spec.timetable.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ScheduleError(
            f"cannot import the timetable {spec.timetable} ({error}); a custom timetable comes from the project's "
            "plugins folder: run where it is (the image has it at /opt/bridge/plugins, a split output in plugins/)"
        ) from None
    with aliases_unresolved():
        return cls.deserialize(json.loads(spec.data))


def use_plugin_folders(folders: list[str]) -> None:
    """Make a project's plugin modules importable, as Airflow does (its plugins folder on sys.path)."""
    import sys

    for folder in reversed(folders):
        if folder not in sys.path:
            sys.path.insert(0, folder)


def _parse(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _restriction(earliest: datetime | None, latest: datetime | None, catchup: bool = True) -> Any:
    from airflow.timetables.base import TimeRestriction

    return TimeRestriction(_coerce(earliest), _coerce(latest), catchup)


def _coerce(value: datetime | None) -> Any:
    if value is None:
        return None
    import pendulum

    return pendulum.instance(value.astimezone(UTC))


def _next(timetable: Any, last: Any, restriction: Any) -> Any:
    if hasattr(timetable, "next_dagrun_info_v2"):
        return timetable.next_dagrun_info_v2(last_dagrun_info=last, restriction=restriction)
    return timetable.next_dagrun_info(
        last_automated_data_interval=None if last is None else last.data_interval, restriction=restriction
    )


def iter_runs(timetable: Any, restriction: Any) -> Iterator[Any]:
    """Airflow's DagRunInfos under a restriction, in order (what DAG.iter_dagrun_infos_between does)."""
    info = _next(timetable, None, restriction)
    while info is not None:
        yield info
        info = _next(timetable, info, restriction)


def runs_between(spec: ScheduleSpec, start: datetime, end: datetime) -> list[Any]:
    """The runs Airflow's backfill creates for [start, end] (logical dates), in order."""
    timetable = rebuild(spec)
    return list(iter_runs(timetable, _restriction(start, end)))


def runs_due_after(spec: ScheduleSpec, latest: datetime | None, fire: datetime, limit: int) -> list[Any]:
    """Catchup: the runs Airflow's scheduler creates after the run of logical date `latest` (the
    DAG's latest scheduled run; None: it has none) up to `fire` (run_after not after it), oldest
    first, at most `limit`; one more than `limit` tells the caller that more are due."""
    timetable = rebuild(spec)
    start = _parse(spec.start_date)
    earliest = latest if latest is not None else start
    if earliest is None:
        first = _first_run(timetable, spec)
        earliest = None if first is None else first.logical_date
        if earliest is None:
            return []
    found: list[Any] = []
    for info in iter_runs(timetable, _restriction(earliest, _parse(spec.end_date))):
        if info.run_after > fire or len(found) > limit:
            break
        if latest is None or _aware(info.logical_date) > _aware(latest):
            found.append(info)
    return found


def _aware(value: datetime) -> datetime:
    """A datetime to compare: naive ones (Airflow 2's EventsTimetable keeps its events as given) are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _first_run(timetable: Any, spec: ScheduleSpec) -> Any | None:
    """What Airflow's scheduler asks a DAG without a start_date (optional in Airflow 3) for its first run:
    the timetable's next_dagrun_info with no previous run and earliest=None, under the DAG's catchup."""
    return _next(timetable, None, _restriction(None, _parse(spec.end_date), spec.catchup))


def anchored(spec: ScheduleSpec, latest: datetime | None, fire: datetime) -> ScheduleSpec | None:
    """The schedule with the start its runs are laid from: its start_date; without one (Airflow 3),
    the DAG's latest scheduled run, or, before any, the first run Airflow's timetable gives when
    asked at `fire` (the scheduler's first look at the DAG, on bridge the CronJob's first fire:
    an interval's grid begins there, a run_immediately cron timetable runs its past time); None
    when that timetable gives none (a data-interval DAG with catchup=True never runs)."""
    if spec.start_date:
        return spec
    if latest is None:
        with clock(fire):
            first = _first_run(rebuild(spec), spec)
        if first is None:
            return None
        latest = first.logical_date
    return _replace(spec, start_date=_iso(latest))


_CLOCKED = ("airflow.timetables.interval", "airflow.timetables.trigger", "airflow.timetables.simple",
            "airflow.timetables._cron", "airflow.timetables._delta", "airflow.timetables.events",
            "airflow._shared.timezones.timezone" if AIRFLOW_3 else "airflow.utils.timezone")


@contextlib.contextmanager
def clock(moment: datetime) -> Iterator[None]:
    """Airflow's timetables asked at `moment` rather than now: they read `utcnow()` (and Airflow 3's
    MultipleCronTriggerTimetable `time.time()`) for what a scheduler's look at that moment sees."""
    import importlib
    import sys

    import pendulum

    frozen = pendulum.instance(moment.astimezone(UTC))
    saved: list[tuple[Any, str, Any]] = []
    try:
        for name in _CLOCKED:
            module = sys.modules.get(name)
            if module is None:
                with contextlib.suppress(ImportError):
                    module = importlib.import_module(name)
            if module is None:
                continue
            if hasattr(module, "utcnow"):
                saved.append((module, "utcnow", module.utcnow))
                module.utcnow = lambda: frozen  # type: ignore[attr-defined]
            if isinstance(getattr(module, "time", None), types.ModuleType):
                saved.append((module, "time", module.time))
                module.time = types.SimpleNamespace(time=frozen.timestamp)  # type: ignore[attr-defined]
        yield
    finally:
        for module, attribute, value in reversed(saved):
            setattr(module, attribute, value)


def run_due_at(spec: ScheduleSpec, fire: datetime) -> Any | None:
    """The latest run whose run_after is not after `fire` (the run a scheduler fired at `fire` starts).

    Without a start_date the timetable decides whether the DAG runs at all (`_first_run`: a
    data-interval cron DAG with catchup=True never does); cron runs are then the ones on its
    schedule, found by the same look-back search; interval (delta) runs are laid from the first
    run the timetable gives now, as Airflow lays them from the scheduler's first look.
    """
    timetable = rebuild(spec)
    start = _parse(spec.start_date)
    end = _parse(spec.end_date)
    anchored = "Delta" in spec.timetable  # runs are laid from start_date: no look-back shortcut
    if start is None:
        first = _first_run(timetable, spec)
        if first is None:
            return None
        if anchored:
            return _latest_due(timetable, first, fire, _restriction(None, end))
    lookbacks = () if anchored else _LOOKBACKS
    for lookback in (*lookbacks, None):
        earliest = start if lookback is None else max(start, fire - lookback) if start else fire - lookback
        if earliest is None:  # no start_date and no run within the longest look-back
            return None
        found = None
        for info in iter_runs(timetable, _restriction(earliest, end)):
            if info.run_after > fire:
                break
            found = info
        if found is not None or lookback is None or (start is not None and earliest <= start):
            return found
    return None


def _latest_due(timetable: Any, first: Any, fire: datetime, restriction: Any) -> Any | None:
    """From Airflow's first run on, the latest run whose run_after is not after `fire`."""
    found = None
    info = first
    while info is not None and info.run_after <= fire:
        found = info
        info = _next(timetable, info, restriction)
    return found


def latest_fire_time(spec: ScheduleSpec, now: datetime) -> datetime | None:
    """When the latest run due at `now` became due (its run_after), for a CronJob without a timestamp."""
    info = run_due_at(spec, now)
    # A plain datetime (Airflow's is pendulum's, whose arithmetic with some deltas drops the zone).
    return None if info is None else datetime.fromtimestamp(info.run_after.timestamp(), UTC)


def backfill_needs_past_intervals() -> bool:
    """Airflow 3's backfill skips runs whose data interval has not ended; Airflow 2's does not."""
    return AIRFLOW_3
