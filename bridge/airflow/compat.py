"""Airflow 2 / Airflow 3 differences at split time, behind one small interface.

Which line is installed, and `is_mapped`, come from `bridge.version_compat`, shared with the
task runner.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Any

from bridge.errors import DagLoadError
from bridge.version_compat import AIRFLOW_3, AIRFLOW_LINE, AIRFLOW_VERSION, DAGBAG_MODULE
from bridge.version_compat import is_mapped as is_mapped  # part of this interface (bridge.airflow.loader)

DAGBAG_LOG_LEVELS = "airflow.dag_processing.dagbag=critical airflow.models.dagbag=critical"


_QUIET = {
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    # Airflow 3 logs import errors through structlog, which logging.disable does not reach.
    "AIRFLOW__LOGGING__NAMESPACE_LEVELS": DAGBAG_LOG_LEVELS,
    # Airflow 2 warns at import that timer metrics will change unit; opting in silences it.
    "AIRFLOW__METRICS__TIMER_UNIT_CONSISTENCY": "True",
}


def quiet_airflow() -> None:
    """Import Airflow with its import-time chatter turned down, leaving os.environ as it was.

    Airflow reads these settings when it is imported; restoring the environment afterwards
    keeps them out of processes bridge starts later (pods of `bridge run` log at INFO).
    """
    warnings.filterwarnings("ignore", module=r"airflow(\..*)?$")
    added = {key: value for key, value in _QUIET.items() if key not in os.environ}
    os.environ.update(added)
    try:
        import airflow  # noqa: F401  (configures logging from the environment)

        importlib.import_module(DAGBAG_MODULE)
    finally:
        for key in added:
            os.environ.pop(key, None)


def airflow_version() -> str:
    """The installed Airflow version, e.g. '2.11.2'."""
    return AIRFLOW_VERSION


def make_dagbag(path: str, *, shared: bool = False) -> Any:
    """A DagBag over one file, never with Airflow's example DAGs, never in safe mode.

    DagBag logs import errors with their traceback; bridge reports them itself in one line.
    `shared`: one DagBag of this process parses the file (`process_file`, as DagBag's own
    collection does file by file), holding only that file's DAGs and import errors afterwards:
    a project of hundreds of files pays DagBag's set-up once.
    """
    logging.disable(logging.CRITICAL)
    try:
        with aliases_unresolved():
            if shared:
                bag = _shared_dagbag()
                bag.dags.clear()
                bag.import_errors.clear()
                bag.process_file(path, only_if_updated=False, safe_mode=False)
                return bag
            return _dagbag_class()(dag_folder=path, safe_mode=False, **_NO_EXAMPLES)
    finally:
        logging.disable(logging.NOTSET)


@contextlib.contextmanager
def aliases_unresolved() -> Iterator[None]:
    """Airflow 2.10/2.11 expand a DatasetAlias in a schedule from the metadata database as soon as
    the condition is built (`_DatasetAliasCondition`: while the DAG file is parsed, or its timetable
    deserialised); bridge has no database there. The alias resolves to no dataset, as on an Airflow
    that has seen none of its events: what it names is read from the events at submit time."""
    module = None if AIRFLOW_3 else sys.modules.get("airflow.datasets") or importlib.import_module("airflow.datasets")
    original = getattr(module, "expand_alias_to_datasets", None)
    if original is None:
        yield
        return
    module.expand_alias_to_datasets = lambda *_, **__: []  # type: ignore[union-attr]
    try:
        yield
    finally:
        module.expand_alias_to_datasets = original  # type: ignore[union-attr]


# Airflow 3.3's DagBag has no include_examples (it never loads them); older lines read the default from [core].
_NO_EXAMPLES: dict[str, Any] = {} if AIRFLOW_LINE >= (3, 3) else {"include_examples": False}


def _dagbag_class() -> Any:
    """Airflow's DagBag, wherever the installed line keeps it."""
    return importlib.import_module(DAGBAG_MODULE).DagBag


@functools.cache
def _shared_dagbag() -> Any:
    return _dagbag_class()(collect_dags=False, safe_mode=False, **_NO_EXAMPLES)


def in_mapped_group(task: Any) -> bool:
    """Whether the task sits in a dynamically mapped task group (`@task_group ... .expand()`)."""
    closest = getattr(task, "get_closest_mapped_task_group", None)
    return callable(closest) and closest() is not None


def operator_class(task: Any) -> type:
    """The operator class behind a task, also for mapped tasks."""
    if is_mapped(task):
        cls = getattr(task, "operator_class", None)
        if isinstance(cls, type):
            return cls
    return type(task)


def is_noop(task: Any) -> bool:
    """An unmapped EmptyOperator (or a subclass keeping its `execute`, `pre_execute` and
    `post_execute`, with no pre/post-execute hooks): its run does nothing, so it reads no XCom of
    its upstreams and never ends skipped by itself (its callbacks may run, but their exceptions
    are only logged). Airflow's scheduler does not even start one without callbacks or outlets.
    Any other operator may pull inside its `execute` (a library operator's code is not read) or
    through an XComArg, and may raise AirflowSkipException."""
    try:
        from airflow.providers.standard.operators.empty import EmptyOperator
    except ImportError:  # Airflow 2.10 without the standard provider
        from airflow.operators.empty import EmptyOperator
    cls = type(task)
    if is_mapped(task) or not issubclass(cls, EmptyOperator):
        return False
    kept = all(getattr(cls, name) is getattr(EmptyOperator, name) for name in ("execute", "pre_execute", "post_execute"))
    hooks = (getattr(task, "_pre_execute_hook", None), getattr(task, "_post_execute_hook", None))
    return kept and all(hook is None for hook in hooks)


def dag_schedule(dag: Any) -> str | None:
    """The DAG's schedule as a cron expression or preset, or a summary; None if unscheduled."""
    raw = getattr(dag, "schedule_interval", None) if not AIRFLOW_3 else getattr(dag, "schedule", None)
    if isinstance(raw, str):
        return raw
    timetable = getattr(dag, "timetable", None)
    if timetable is None or type(timetable).__name__ == "NullTimetable":
        return None
    for attribute in ("_expression", "expression"):  # core timetables / Airflow 3 SDK timetables
        expression = getattr(timetable, attribute, None)
        if isinstance(expression, str):
            return expression
    summary = getattr(timetable, "summary", None)
    return str(summary) if summary else None


def skip_kind(task: Any) -> str:
    """How the operator skips other tasks: branch, short-circuit (direct or all downstream), or not."""
    names = {cls.__name__ for cls in operator_class(task).__mro__}
    if "BranchMixIn" in names:
        return "branch"
    if "ShortCircuitOperator" in names:
        if getattr(task, "ignore_downstream_trigger_rules", True):
            return "short_circuit_all"
        return "short_circuit"
    if "SkipMixin" in names and "BaseSensorOperator" not in names:  # sensors only skip themselves
        return "other"
    return ""


def _discovery() -> tuple[Any, Any]:
    """Airflow's own (find_path_from_directory, list_py_file_paths) of the installed line."""
    import importlib

    from airflow.utils import file as airflow_file

    try:  # Airflow 3.1+: the shared module-loading library (airflow.utils.file's is deprecated there)
        find = importlib.import_module("airflow._shared.module_loading.file_discovery").find_path_from_directory
    except ImportError:
        find = airflow_file.find_path_from_directory
    return find, airflow_file.list_py_file_paths


def _ignore_syntax() -> str:
    """`[core] dag_ignore_file_syntax`, with the installed line's default (regexp on 2, glob on 3)."""
    from airflow.configuration import conf

    return conf.get("core", "dag_ignore_file_syntax", fallback="glob" if AIRFLOW_3 else "regexp") or ""


def find_files(folder: str) -> list[str]:
    """Every file of `folder` that Airflow's walk does not ignore (`.airflowignore`, in the configured syntax)."""
    find, _ = _discovery()
    with warnings.catch_warnings(), _walk_errors(folder):  # Airflow 3.3's glob rules use a pathspec name pathspec deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        return [str(path) for path in find(folder, ".airflowignore", _ignore_syntax())]


@contextlib.contextmanager
def _walk_errors(folder: str) -> Iterator[None]:
    """Airflow's walk refuses a folder whose symlinks loop (RuntimeError): a located error, as Airflow's DagBag would fail."""
    try:
        yield
    except RuntimeError as error:
        if "recursive loop" not in str(error):
            raise
        raise DagLoadError(
            f"Airflow's DAG discovery cannot walk this folder: {error}; pass a DAG file in a folder of its own, "
            "or --dags-folder, or add the looping folder to .airflowignore",
            location=folder,
        ) from None


def list_dag_files(folder: str) -> list[str]:
    """The files Airflow's DagBag would parse in `folder`: its walk, then `[core] dag_discovery_safe_mode`."""
    from airflow.configuration import conf

    _, list_py = _discovery()
    safe_mode = conf.getboolean("core", "dag_discovery_safe_mode", fallback=True)
    with warnings.catch_warnings(), _walk_errors(folder):
        warnings.simplefilter("ignore", DeprecationWarning)
        if AIRFLOW_3:
            return [str(path) for path in list_py(folder, safe_mode=safe_mode)]
        return [str(path) for path in list_py(folder, safe_mode=safe_mode, include_examples=False)]


_PLUGIN_STATE_AF2 = (
    "plugins", "registered_hooks", "macros_modules", "executors_modules", "admin_views", "flask_blueprints",
    "menu_links", "flask_appbuilder_views", "flask_appbuilder_menu_links", "global_operator_extra_links",
    "operator_extra_links", "registered_operator_link_classes", "registered_ti_dep_classes", "timetable_classes",
    "hook_lineage_reader_classes", "priority_weight_strategy_classes",
)


def use_plugins_folder(folder: str) -> None:
    """Point this process's Airflow at a project's plugins folder, as its settings do at start-up.

    Airflow appends the plugins folder to sys.path (settings.prepare_syspath...) and loads plugins on
    demand from `settings.PLUGINS_FOLDER`; plugins loaded earlier in this process are forgotten.
    """
    from airflow import plugins_manager, settings
    from airflow.configuration import conf

    if not conf.has_section("core"):  # Airflow 2 with no airflow.cfg has no sections to set into
        conf.add_section("core")
    conf.set("core", "plugins_folder", folder)
    if folder not in sys.path:
        sys.path.append(folder)
    if settings.PLUGINS_FOLDER == folder:
        return
    settings.PLUGINS_FOLDER = folder
    for value in list(vars(plugins_manager).values()):  # Airflow 3: functools.cache'd loaders
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()
    for name in _PLUGIN_STATE_AF2:  # Airflow 2: module globals, None until loaded
        if getattr(plugins_manager, name, None) is not None:
            setattr(plugins_manager, name, None)
