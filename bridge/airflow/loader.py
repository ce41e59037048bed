"""DAG file -> SourceDag, with real Airflow. The only module that runs user DAG code."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import sys
from collections.abc import Mapping
from typing import Any

from bridge.airflow import compat, kpo
from bridge.airflow.timetables import describe_schedule
from bridge.airflow.xcom_refs import pulled_task_ids
from bridge.errors import DagLoadError, UnsupportedError
from bridge.model import SourceDag, SourceTask

_TRACE_LINE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')
_IMPORT_TIMEOUT = re.compile(r"DagBag import timeout for .* after ([0-9.]+)s")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b.*")


def check_readable(path: str) -> str:
    """Read the DAG file's text, or fail with a located message."""
    if not os.path.exists(path):
        raise DagLoadError("no such file; pass the path of an Airflow DAG file", location=path)
    if os.path.isdir(path):
        raise DagLoadError("is a folder; pass one DAG file", location=path)
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DagLoadError(f"cannot read the DAG file: {reason}", location=path) from None


def check_syntax(path: str, text: str) -> None:
    """Report a syntax error with its line before Airflow imports anything."""
    try:
        compile(text, path, "exec")
    except SyntaxError as exc:
        raise DagLoadError(f"syntax error: {exc.msg}; fix the file and run again", location=f"{path}:{exc.lineno}") from None


def import_error(path: str, trace: str) -> DagLoadError:
    """Turn DagBag's import-error traceback into one located line."""
    lines = [line.strip() for line in trace.strip().splitlines() if line.strip()]
    exceptions = [line for line in lines if _EXCEPTION_LINE.match(line)]
    last = exceptions[-1] if exceptions else (lines[-1] if lines else "unknown error")
    location = path
    real = os.path.realpath(path)
    for match in _TRACE_LINE.finditer(trace):
        if os.path.realpath(match.group("file")) == real:
            location = f"{path}:{match.group('line')}"
    if last.startswith("SystemExit"):
        code = last.partition(":")[2].strip() or "None"
        return DagLoadError(
            f"import error: the file called sys.exit({code}) while it was imported; a DAG file must not exit",
            location=location,
        )
    timeout = _IMPORT_TIMEOUT.search(trace)
    if timeout:
        return DagLoadError(
            f"import error: the file did not finish importing within {timeout.group(1)} s (Airflow's "
            "dagbag_import_timeout); make the DAG file fast to import (no loops, network or sleeps at top level)",
            location=location,
        )
    if "Timeout" in last or "timed out" in last.lower():
        hint = "the file took too long to import; make the DAG file fast to import"
    elif "ModuleNotFoundError" in last or "No module named" in last:
        hint = "install the missing package in this environment (and in the image) or fix the import"
    elif "no such table" in last:
        hint = "the file reads Airflow's metadata database while it is parsed, and bridge has none; move that into a task"
    elif "Cycle detected" in last or "cycle" in last.lower():
        hint = "remove the dependency cycle"
    else:
        hint = "fix the error; Airflow itself cannot load this file"
    return DagLoadError(f"import error: {last}; {hint}", location=location)


def import_quietly(path: str, *, shared: bool = False) -> Any:
    """DagBag over the file; what the file prints is not echoed (it may print secrets), and exiting is an error.

    `shared`: parsed by this process's one DagBag (compat.make_dagbag), for projects of many files.
    """
    import contextlib
    import io

    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            return compat.make_dagbag(path, shared=shared)
    except SystemExit as exc:  # Airflow 2's DagBag lets it through
        raise DagLoadError(
            f"import error: the file called sys.exit({exc.code}) while it was imported; a DAG file must not exit",
            location=path,
        ) from None


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


def _param_text(value: Any) -> str:
    """A DAG param default as Argo parameter text: strings plain, the rest JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _conn_ids(task: Any) -> tuple[str, ...]:
    """Connection ids the operator references through its `*conn_id` attributes."""
    found: set[str] = set()
    attrs = dict(vars(task)) if hasattr(task, "__dict__") else {}
    attrs.update(getattr(task, "partial_kwargs", None) or {})
    for name, value in attrs.items():
        if not name.endswith("conn_id") or not isinstance(value, str) or not value:
            continue
        if "{{" in value:  # templated at run time; cannot be known here
            continue
        found.add(value)
    return tuple(sorted(found))


def _trigger_rule(task: Any) -> str:
    rule = getattr(task, "trigger_rule", "all_success")
    return str(getattr(rule, "value", rule))


def _json_or_empty(value: Any) -> str:
    if not value:
        return ""
    return json.dumps(value, sort_keys=True, default=str)


def _positive_int(value: Any) -> int | None:
    """An optional limit: None unless a positive integer."""
    return int(value) if isinstance(value, int) and value > 0 else None


def _default_max_active_runs() -> int | None:
    """Airflow's `[core] max_active_runs_per_dag`: the value a DAG gets when it sets none."""
    from airflow.configuration import conf

    try:
        return conf.getint("core", "max_active_runs_per_dag")
    except Exception:  # an unreadable setting: treat every DAG's value as its own choice
        return None


def plain_id(value: Any) -> str:
    """A task or DAG id as a plain str (DAGs may use str enums, e.g. a TriggerRule, as ids)."""
    return str.__str__(value) if isinstance(value, str) else str(value)


def _airflow_class(task: Any, name: str) -> bool:
    """Whether the task is Airflow's class `name` (core or a provider's) or a subclass of it."""
    return any(cls.__name__ == name and cls.__module__.startswith("airflow.") for cls in type(task).__mro__)


def dag_link(task: Any, location: str) -> tuple[str, str]:
    """(SourceTask.dag_link, dag_link_target): the other DAG's runs the task reads or starts on the
    cluster; refuses what a Workflow cannot answer (docs/SCHEDULES.md, "Dependencies between DAGs")."""
    if _airflow_class(task, "ExternalTaskSensor"):
        group = getattr(task, "external_task_group_id", None)
        if group:  # bridge.runtime.external finds the other DAG's tasks in its Workflows by id
            raise UnsupportedError(
                f"task {plain_id(task.task_id)!r} (ExternalTaskSensor) waits on the task group {group!r} of DAG "
                f"{task.external_dag_id!r}: on Argo the other DAG's tasks are found by id; name them (external_task_ids)",
                location=location,
            )
        return "sensor", str(task.external_dag_id)
    if _airflow_class(task, "TriggerDagRunOperator"):
        if getattr(task, "fail_when_dag_is_paused", False):
            raise UnsupportedError(
                f"task {plain_id(task.task_id)!r} (TriggerDagRunOperator) sets fail_when_dag_is_paused: on Argo a DAG "
                "has no paused flag its runs could be refused by (a suspended CronJob only stops its schedule)",
                location=location,
            )
        return "trigger", str(task.trigger_dag_id)
    return "", ""


def asset_outlets(task: Any) -> tuple[str, ...]:
    """The subjects of the task's asset (Airflow 2: dataset) outlets, sorted
    (bridge.airflow.timetables.asset_subject): each asset's URI and, on Airflow 3, its name; each
    alias's name (the assets an alias gets are known only at run time: its events say). Other
    lineage objects have none a schedule can name."""
    from bridge.airflow.timetables import asset_subject

    subjects = set()
    for outlet in getattr(task, "outlets", None) or ():
        kind = type(outlet).__name__
        if kind in ("AssetAlias", "DatasetAlias"):
            subjects.add(asset_subject("alias", str(outlet.name)))
        elif kind in ("Asset", "Dataset", "Model") and getattr(outlet, "uri", None):
            subjects.add(asset_subject("uri", str(outlet.uri)))
            if getattr(outlet, "name", None):
                subjects.add(asset_subject("name", str(outlet.name)))
    return tuple(sorted(subjects))


def describe_task(task: Any, dag_has_setups: bool = True, location: str = "") -> SourceTask:
    """The parts of one task bridge needs, as plain values."""
    cls = compat.operator_class(task)
    native_pod, pod_note, pod_rendered = kpo.native_pod(task, location) if kpo.is_kpo(task) else ("", "", ())
    link, link_target = dag_link(task, location)
    return SourceTask(
        task_id=plain_id(task.task_id),
        operator=getattr(task, "task_type", None) or cls.__name__,
        operator_module=cls.__module__,
        upstream=tuple(sorted(plain_id(up) for up in task.upstream_task_ids)),
        trigger_rule=_trigger_rule(task),
        retries=int(getattr(task, "retries", 0) or 0),
        retry_delay_seconds=_seconds(getattr(task, "retry_delay", None)) or 0.0,
        retry_exponential_backoff=bool(getattr(task, "retry_exponential_backoff", False)),
        max_retry_delay_seconds=_seconds(getattr(task, "max_retry_delay", None)),
        execution_timeout_seconds=_seconds(getattr(task, "execution_timeout", None)),
        sla_seconds=_seconds(getattr(task, "sla", None)),  # Airflow 2 only; Airflow 3 has no `sla`
        conn_ids=_conn_ids(task),
        owner=str(getattr(task, "owner", "") or ""),
        pool=str(getattr(task, "pool", "") or ""),
        pool_slots=int(getattr(task, "pool_slots", 1) or 1),
        max_active_tis_per_dag=_positive_int(getattr(task, "max_active_tis_per_dag", None)),
        depends_on_past=bool(getattr(task, "depends_on_past", False) or getattr(task, "wait_for_downstream", False)),
        queue=str(getattr(task, "queue", "") or ""),
        executor_config=_json_or_empty(getattr(task, "executor_config", None)),
        is_setup=bool(getattr(task, "is_setup", False)),
        is_teardown=bool(getattr(task, "is_teardown", False)),
        on_failure_fail_dagrun=bool(getattr(task, "on_failure_fail_dagrun", False)),
        indirect_setups=_indirect_setups(task) if dag_has_setups else (),  # Airflow's walk is O(tasks) per task
        skip_kind=compat.skip_kind(task),
        is_mapped=compat.is_mapped(task),
        in_mapped_group=compat.in_mapped_group(task),
        xcom_pulls=pulled_task_ids(task),
        is_noop=compat.is_noop(task),
        native_pod=native_pod,
        pod_note=pod_note,
        pod_rendered=pod_rendered,
        pod_xcom=bool(native_pod) and bool(getattr(task, "do_xcom_push", False)),
        pod_skip_codes=kpo.skip_codes(task, location) if native_pod else (),
        dag_link=link,
        dag_link_target=link_target,
        outlets=asset_outlets(task),
        pod_callbacks=bool(native_pod) and kpo.has_final_callbacks(task),
        pod_metadata=kpo.metadata_inputs(task) if native_pod else (),
    )


def _indirect_setups(task: Any) -> tuple[str, ...]:
    """Setups whose failure or skip decides this task although they are not direct upstreams.

    Airflow's TriggerRuleDep checks these (`get_upstreams_only_setups`) before the trigger rule;
    teardowns are exempt.
    """
    if getattr(task, "is_teardown", False) or not hasattr(task, "get_upstreams_only_setups"):
        return ()
    direct = set(task.upstream_task_ids)
    return tuple(sorted(plain_id(s.task_id) for s in task.get_upstreams_only_setups() if s.task_id not in direct))


def topological_order(upstream: dict[str, tuple[str, ...]]) -> list[str]:
    """Task ids so that every task follows its upstreams; ties broken by task id."""
    remaining = {task_id: set(ups) for task_id, ups in upstream.items()}
    order: list[str] = []
    ready = sorted(task_id for task_id, ups in remaining.items() if not ups)
    while ready:
        task_id = ready.pop(0)
        order.append(task_id)
        del remaining[task_id]
        released = [other for other, ups in remaining.items() if task_id in ups]
        for other in released:
            remaining[other].discard(task_id)
            if not remaining[other]:
                ready.append(other)
        ready.sort()
    return order


def _distribution_of(
    module: str, cache: dict[str, tuple[str, str] | None], project: tuple[str, ...] = ()
) -> tuple[str, str] | None:
    """The installed distribution (name, version) that provides `module`, if any (none for the project's own code)."""
    from importlib import metadata

    if module in cache:
        return cache[module]
    parts = module.split(".")
    found: tuple[str, str] | None = None
    if parts[:2] == ["airflow", "providers"]:
        for end in range(3, len(parts) + 1):
            name = "apache-airflow-providers-" + "-".join(parts[2:end]).replace("_", "-")
            try:
                found = (name, metadata.version(name))
                break
            except metadata.PackageNotFoundError:
                continue
    elif parts[0] != "airflow" and not _in_project(parts[0], project):
        for name in sorted(_top_level_distributions().get(parts[0], [])):
            found = (name, metadata.version(name))
            break
    cache[module] = found
    return found


def _in_project(top_level: str, project: tuple[str, ...]) -> bool:
    """Whether a module is the project's own code (a file of its dags or plugins folder): no distribution to pin."""
    path = getattr(sys.modules.get(top_level), "__file__", None) or ""
    real = os.path.realpath(path) if path else ""
    return bool(real) and any(real.startswith(os.path.join(os.path.realpath(folder), "")) for folder in project)


@functools.lru_cache(maxsize=1)
def _top_level_distributions() -> Mapping[str, list[str]]:
    """importlib.metadata.packages_distributions(), read once per process (it reads every installed RECORD)."""
    from importlib import metadata

    return metadata.packages_distributions()


_DISTRIBUTIONS: dict[tuple[str, ...], dict[str, tuple[str, str] | None]] = {}


def detect_requirements(tasks: list[Any], project: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:
    """Airflow plus the provider (or other) distributions the DAG's operators come from.

    `project`: the dags and plugins folders, whose modules are carried, not installed.
    """
    cache = _DISTRIBUTIONS.setdefault(project, {})  # per process: installed packages do not change during a split
    found = {("apache-airflow", compat.airflow_version())}
    for task in tasks:
        dist = _distribution_of(compat.operator_class(task).__module__, cache, project)
        if dist is not None:
            found.add(dist)
    return tuple(sorted(found))


def describe_dag(dag: Any, path: str, project: tuple[str, ...] | None = None) -> SourceDag:
    """The parts of one DAG bridge needs, as plain values (`project`: its dags and plugins folders)."""
    has_setups = any(getattr(task, "is_setup", False) for task in dag.tasks)
    by_id = {plain_id(task.task_id): describe_task(task, has_setups, path) for task in dag.tasks}
    order = topological_order({task_id: t.upstream for task_id, t in by_id.items()})
    params = tuple((name, _param_text(value)) for name, value in dag.params.dump().items())
    timezone = getattr(dag, "timezone", None)
    owner = str(getattr(dag, "owner", "") or "")
    return SourceDag(
        dag_id=plain_id(dag.dag_id),
        source_path=path,
        tasks=tuple(by_id[task_id] for task_id in order),
        params=params,
        description=str(getattr(dag, "description", "") or ""),
        doc_md=str(getattr(dag, "doc_md", "") or ""),
        owners=tuple(sorted({o.strip() for o in owner.split(",") if o.strip()})),
        tags=tuple(sorted(str(tag) for tag in (getattr(dag, "tags", None) or ()))),
        schedule=compat.dag_schedule(dag),
        timezone=str(getattr(timezone, "name", timezone) or "UTC"),
        max_active_tasks=getattr(dag, "max_active_tasks", None),
        max_active_runs=getattr(dag, "max_active_runs", None),
        default_max_active_runs=_default_max_active_runs(),
        dagrun_timeout_seconds=_seconds(getattr(dag, "dagrun_timeout", None)),
        sla_miss_callback=getattr(dag, "sla_miss_callback", None) is not None,
        airflow_version=compat.airflow_version(),
        requirements=detect_requirements(list(dag.tasks), (os.path.dirname(path),) if project is None else project),
        timetable=describe_schedule(dag),
        dag_callbacks=dag_callbacks(dag),
    )


DAG_CALLBACKS = ("on_failure_callback", "on_success_callback")


def dag_callbacks(dag: Any) -> tuple[str, ...]:
    """The DAG-level callbacks the DAG sets: Airflow calls them only when truthy (a callable or a non-empty list)."""
    return tuple(name for name in DAG_CALLBACKS if getattr(dag, name, None))
