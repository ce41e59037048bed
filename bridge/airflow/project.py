"""A DAG file or a dags folder -> Project, loaded the way Airflow's DagBag loads a dags folder.

With bridge/airflow/loader.py, the only code that runs user DAG code. What is found, carried and
refused is docs/DESIGN.md's "Projects" section:
- DAG files: Airflow's own discovery (`.airflowignore` in the configured syntax, the safe-mode
  heuristic), each file parsed once, in a DagBag of its own so every DAG is tied to its file;
- carried files: every file of the dags folder tree that Airflow's walk does not ignore (Python
  and not), the plugins folder's likewise, and each `template_searchpath` folder outside both;
  hidden folders, `__pycache__` and compiled files are never carried;
- broken files: all listed with their locations (or skipped with `skip_broken`); one dag_id in
  two files is refused.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from typing import Any

from bridge import names
from bridge.airflow import compat
from bridge.airflow.loader import check_readable, check_syntax, describe_dag, import_error, import_quietly, plain_id
from bridge.errors import DagLoadError
from bridge.model import Project, SourceDag

REQUIREMENTS_FILE = "requirements.txt"
PACKAGES_FILE = "packages.txt"
_NEVER_CARRIED_DIRS = frozenset({"__pycache__"})
_NEVER_CARRIED_SUFFIXES = (".pyc", ".pyo")


def resolve_folders(path: str, dags_folder: str | None, plugins_folder: str | None) -> tuple[str, str, str]:
    """(PATH, the dags folder, the plugins folder or ""), absolute, checked; see `bridge split --help`."""
    path = os.path.abspath(path)
    if not os.path.exists(path):
        raise DagLoadError("no such file or folder; pass an Airflow DAG file or a dags folder", location=path)
    if dags_folder is None:
        dags = path if os.path.isdir(path) else os.path.dirname(path)
    else:
        dags = os.path.abspath(dags_folder)
        if not os.path.isdir(dags):
            raise DagLoadError("--dags-folder is not a folder", location=dags)
        if path != dags and not path.startswith(os.path.join(dags, "")):
            raise DagLoadError(f"is not inside the dags folder {dags}; pass a path inside --dags-folder", location=path)
    if plugins_folder is None:
        sibling = os.path.join(os.path.dirname(dags), "plugins")
        plugins = sibling if os.path.isdir(sibling) and sibling != dags else ""
    else:
        plugins = os.path.abspath(plugins_folder)
        if not os.path.isdir(plugins):
            raise DagLoadError("--plugins-folder is not a folder", location=plugins)
    return path, dags, plugins


def project_name(dags_folder: str) -> str:
    """The project's name: the dags folder's, or its parent's when the folder is called `dags`."""
    base = os.path.basename(dags_folder)
    if base == "dags":
        base = os.path.basename(os.path.dirname(dags_folder)) or base
    return names.argo_name(base or "project", 63)


def _carried(path: str, root: str) -> bool:
    """Whether a file of a walked folder goes into the image (hidden folders, caches and compiled files do not)."""
    rel = os.path.relpath(path, root)
    parts = rel.split(os.sep)
    if any(part.startswith(".") or part in _NEVER_CARRIED_DIRS for part in parts[:-1]):
        return False
    return not parts[-1].endswith(_NEVER_CARRIED_SUFFIXES)


def _outside(path: str, excluded: str | None) -> bool:
    return not excluded or not (path == excluded or path.startswith(os.path.join(excluded, "")))


def tree_files(root: str, *, airflowignore: bool, excluded: str | None = None) -> list[str]:
    """Files of `root` a pod may read, sorted: Airflow's own walk (with `.airflowignore`) or a plain one."""
    if airflowignore:
        found = compat.find_files(root)
    else:
        found = [os.path.join(folder, name) for folder, _, files in os.walk(root, followlinks=True) for name in files]
    return sorted(path for path in found if _carried(path, root) and _outside(path, excluded))


def _searchpath_key(entry: str, dags_folder: str, plugins_folder: str) -> str:
    """Where a template_searchpath folder is carried in the output (relative to its root)."""
    for prefix, folder in (("sources", dags_folder), ("plugins", plugins_folder)):
        if folder and (entry == folder or entry.startswith(os.path.join(folder, ""))):
            rel = os.path.relpath(entry, folder).replace(os.sep, "/")
            return prefix if rel == "." else f"{prefix}/{rel}"
    project_root = os.path.dirname(dags_folder)
    if project_root != os.sep and entry.startswith(os.path.join(project_root, "")):
        return "searchpath/" + os.path.relpath(entry, project_root).replace(os.sep, "/")
    return "searchpath/" + entry.lstrip(os.sep).replace(os.sep, "/")


def _searchpath(dag: Any) -> list[str]:
    value = getattr(dag, "template_searchpath", None) or []
    entries = [value] if isinstance(value, str) else list(value)
    return [os.path.normpath(os.path.abspath(str(entry))) for entry in entries]


def _load_file(path: str) -> tuple[list[Any], DagLoadError | None]:
    """The DAGs one file defines, or its located error (the file is parsed once)."""
    try:
        check_syntax(path, check_readable(path))
        bag = import_quietly(path, shared=True)
    except DagLoadError as error:
        return [], error
    if bag.import_errors:
        return [], import_error(path, next(iter(bag.import_errors.values())))
    return [dag for dag in bag.dags.values() if not getattr(dag, "parent_dag", None)], None


def _read_text(path: str) -> str:
    if not os.path.isfile(path):
        return ""
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def load_project(
    path: str,
    *,
    dags_folder: str | None = None,
    plugins_folder: str | None = None,
    dag_ids: tuple[str, ...] = (),
    skip_broken: bool = False,
    excluded: str | None = None,
    one_dag: bool = False,
) -> Project:
    """Load PATH (a DAG file, or a folder of them) as Airflow would with that dags and plugins folder.

    `excluded` is a folder inside the dags folder that is not part of the project (bridge's own
    output folder): never parsed, never carried. `one_dag`: exactly one DAG must be chosen (bridge
    run and backfill run one).
    """
    path, dags_root, plugins = resolve_folders(path, dags_folder, plugins_folder)
    _forget_previous_project()
    excluded = os.path.abspath(excluded) if excluded else None
    if excluded and not excluded.startswith(os.path.join(dags_root, "")):
        excluded = None  # only an output folder inside the dags folder is left out of it
    single_file = os.path.isfile(path)
    compat.quiet_airflow()
    if plugins:
        compat.use_plugins_folder(plugins)
    if dags_root not in sys.path:  # Airflow puts the dags folder on sys.path
        sys.path.insert(0, dags_root)
    if single_file:
        dag_files = [path]
    else:
        dag_files = [f for f in compat.list_dag_files(path) if _outside(f, excluded)]
    broken: list[str] = []
    found: dict[str, list[tuple[str, Any]]] = {}
    for file in sorted(dag_files):
        if not file.endswith(".py"):
            broken.append(f"{file}: a zipped DAG package; bridge carries plain files only: unzip it into the dags folder")
            continue
        defined, error = _load_file(file)
        if error is not None and single_file:
            raise error
        if error is not None:
            broken.append(str(error))
        for dag in defined:
            found.setdefault(plain_id(dag.dag_id), []).append((file, dag))
    if broken and not skip_broken:
        listed = "\n  ".join(broken)
        raise DagLoadError(
            f"{len(broken)} of {len(dag_files)} DAG files cannot be loaded (Airflow would list them as import "
            f"errors); fix them, or pass --skip-broken to split the others. Nothing was written:\n  {listed}",
            location=path,
        )
    for dag_id, places in sorted(found.items()):
        if len(places) > 1:
            both = " and ".join(f for f, _ in places)
            raise DagLoadError(
                f"dag_id {dag_id!r} is defined in {both}; Airflow would keep only one of them (docs/DESIGN.md, "
                "\"Projects\"): give each DAG its own dag_id",
                location=places[1][0],
            )
    _remember_project(tuple(folder for folder in (dags_root, plugins) if folder))
    if not found:
        where = "the file must create an Airflow DAG at import time" if single_file else "no file of the folder creates one"
        raise DagLoadError(f"no DAG found; {where}", location=path)
    chosen = _choose(found, dag_ids, path, "the file" if single_file else "the dags folder")
    if one_dag and len(chosen) > 1:
        what = "defines" if single_file else "holds"
        raise DagLoadError(f"{what} {len(chosen)} DAGs ({', '.join(chosen)}); choose one with --dag-id", location=path)
    described = [_describe(found[dag_id][0], dags_root, plugins) for dag_id in chosen]
    dags = tuple(dag for dag, _ in described)
    files = _carried_files(dags_root, plugins, described, excluded)
    project_root = os.path.dirname(dags_root)
    return Project(
        name=project_name(dags_root),
        dags_folder=dags_root,
        plugins_folder=plugins,
        dags=dags,
        files=files,
        requirements=_read_text(os.path.join(project_root, REQUIREMENTS_FILE)),
        packages=_read_text(os.path.join(project_root, PACKAGES_FILE)),
        skipped=tuple(broken),
        single_file=single_file,
    )


# What the last load_project of this process added (bridge run / backfill / tests load projects in-process):
# the next load starts as a fresh process would, so two projects' `common` packages never mix.
_PREVIOUS: dict[str, Any] = {"modules": set(), "folders": ()}


def _remember_project(folders: tuple[str, ...]) -> None:
    inside = tuple(os.path.join(os.path.realpath(folder), "") for folder in folders)
    _PREVIOUS["folders"] = folders
    _PREVIOUS["modules"] = {
        name for name, module in list(sys.modules.items())
        if os.path.realpath(getattr(module, "__file__", None) or "/").startswith(inside)
    }


def _forget_previous_project() -> None:
    for name in _PREVIOUS["modules"]:
        sys.modules.pop(name, None)
    for folder in _PREVIOUS["folders"]:
        while folder in sys.path:
            sys.path.remove(folder)
    _PREVIOUS.update(modules=set(), folders=())


def _choose(found: dict[str, list[tuple[str, Any]]], dag_ids: tuple[str, ...], path: str, where: str) -> list[str]:
    if not dag_ids:
        return sorted(found)
    unknown = [dag_id for dag_id in dag_ids if dag_id not in found]
    if unknown:
        listed = ", ".join(sorted(found))
        raise DagLoadError(f"no DAG with id {unknown[0]!r}; {where} defines: {listed}", location=path)
    return sorted(set(dag_ids))


def _describe(place: tuple[str, Any], dags_root: str, plugins: str) -> tuple[SourceDag, list[str]]:
    """The DAG as plain values, and the absolute template_searchpath folders its keys stand for."""
    file, dag = place
    described = describe_dag(dag, file, tuple(folder for folder in (dags_root, plugins) if folder))
    entries = _searchpath(dag)
    keys = tuple(_searchpath_key(entry, dags_root, plugins) for entry in entries)
    rel = os.path.relpath(file, dags_root).replace(os.sep, "/")
    return replace(described, source_rel=rel, template_searchpath=keys), entries


def _carried_files(
    dags_root: str, plugins: str, described: list[tuple[SourceDag, list[str]]], excluded: str | None
) -> tuple[tuple[str, str], ...]:
    """(output path, file here) for the dags folder, the plugins folder and outside template folders."""
    files: dict[str, str] = {}
    for prefix, root in (("sources", dags_root), ("plugins", plugins)):
        if root:
            for file in tree_files(root, airflowignore=True, excluded=excluded):
                files[f"{prefix}/{os.path.relpath(file, root).replace(os.sep, '/')}"] = file
    for dag, entries in described:
        for key, entry in zip(dag.template_searchpath, entries):  # one key per entry
            if key.startswith("searchpath/") and os.path.isdir(entry):
                for file in tree_files(entry, airflowignore=False, excluded=excluded):
                    files[f"{key}/{os.path.relpath(file, entry).replace(os.sep, '/')}"] = file
    return tuple(sorted(files.items()))
