"""Which tasks' XComs a task can pull, read from its code and templates before it runs.

bridge passes each task the XCom rows of exactly these tasks (docs/DESIGN.md, "XCom input"): its
direct upstreams (XComArg and TaskFlow arguments always make the producer one) plus every task
named by a literal `task_ids` in an `xcom_pull(...)` call found in

- its template fields, as Airflow renders them (a template file's source too), parsed with the
  DAG's own Jinja environment: `{{ ti.xcom_pull(task_ids='extract') }}`, `task_instance.xcom_pull('a')`;
- its Python callable and its callbacks (`on_*_callback`), parsed with `ast`;
- its operator class when the class is the project's own (not from an installed package).

A pull whose `task_ids` is not a literal (a variable, a param, absent — Airflow 2 then reads
any task, Airflow 3 the task itself) or a direct `XCom.get_*` call makes the task *dynamic*: it
gets every ancestor's rows. Code in other functions the callable calls is not followed; name the
producer in a literal, or make it an upstream (docs/SEMANTICS.md, "XCom").
"""

from __future__ import annotations

import ast
import functools
import inspect
import os
import textwrap
from collections.abc import Iterator
from typing import Any

CALLBACKS = ("on_execute_callback", "on_failure_callback", "on_success_callback", "on_retry_callback", "on_skipped_callback")
_XCOM_READS = ("get_one", "get_many", "get_value", "get_all")


class _Pulls:
    """Literal task ids found so far, and whether any pull names its tasks some other way."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.dynamic = False

    def add(self, value: Any) -> None:
        """One `task_ids` argument: a literal id or list of ids, else dynamic (None: absent)."""
        if isinstance(value, str):
            self.ids.add(value)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
            self.ids.update(value)
        else:
            self.dynamic = True


def pulled_task_ids(task: Any) -> tuple[str, ...] | None:
    """Task ids `task` pulls XComs from besides its upstreams (sorted), or None when it cannot be told."""
    pulls = _Pulls()
    _scan_templates(task, pulls)
    for function in _functions(task):
        _scan_python(function, pulls)
    return None if pulls.dynamic else tuple(sorted(pulls.ids))



# ---- templates -------------------------------------------------------------------------------


def _scan_templates(task: Any, pulls: _Pulls) -> None:
    env: Any = None  # the DAG's Jinja environment, built only for a task that needs it (it is not cheap)
    extensions = tuple(getattr(task, "template_ext", ()) or ())
    for name in getattr(task, "template_fields", ()) or ():
        for text in _strings(getattr(task, name, None)):
            if extensions and text.endswith(extensions):
                env = env or _jinja_env(task)
                try:
                    text = env.loader.get_source(env, text)[0] if env is not None and env.loader else text
                except Exception:  # not a file after all: Airflow renders it as text too
                    pass
            if "xcom_pull" in text or "XCom" in text:
                env = env or _jinja_env(task)
                _scan_jinja(text, env, pulls)


_ENVS: dict[int, tuple[Any, Any]] = {}  # id(dag) -> (dag, its Jinja environment): one per DAG, not per task


def _jinja_env(task: Any) -> Any:
    dag = getattr(task, "dag", None)
    if dag is None:
        return None
    cached = _ENVS.get(id(dag))
    if cached is not None and cached[0] is dag:
        return cached[1]
    try:
        env = dag.get_template_env()
    except Exception:
        env = None
    if len(_ENVS) > 256:
        _ENVS.clear()
    _ENVS[id(dag)] = (dag, env)
    return env


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a template field's value (nested lists, tuples and dicts)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _scan_jinja(text: str, env: Any, pulls: _Pulls) -> None:
    from jinja2 import Environment, nodes

    try:
        tree = (env or Environment()).parse(text)
    except Exception:  # Airflow would fail to render it; the task fails in its pod either way
        pulls.dynamic = True
        return
    for call in tree.find_all(nodes.Call):
        target = call.node
        if isinstance(target, nodes.Getattr) and target.attr == "xcom_pull":
            argument = next((k.value for k in call.kwargs if k.key == "task_ids"), call.args[0] if call.args else None)
            pulls.add(_jinja_literal(argument))
        elif isinstance(target, nodes.Getattr) and target.attr in _XCOM_READS:
            pulls.dynamic = True


def _jinja_literal(node: Any) -> Any:
    from jinja2 import nodes

    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, (nodes.List, nodes.Tuple)):
        items = [_jinja_literal(item) for item in node.items]
        return items if all(isinstance(i, str) for i in items) else None
    return None


# ---- Python ------------------------------------------------------------------------------------


def _functions(task: Any) -> Iterator[Any]:
    """The task's Python callable, its callbacks, and its operator class when it is the project's."""
    partial = getattr(task, "partial_kwargs", None) or {}
    for candidate in (getattr(task, "python_callable", None), partial.get("python_callable")):
        if callable(candidate):
            yield candidate
    for name in CALLBACKS:
        value = getattr(task, name, None) or partial.get(name)
        for callback in value if isinstance(value, (list, tuple)) else [value]:
            if callable(callback):
                yield callback
    cls = getattr(task, "operator_class", None) or type(task)
    if isinstance(cls, type) and _is_project_code(cls):
        yield cls


@functools.lru_cache(maxsize=1024)
def _is_project_code(obj: Any) -> bool:
    try:
        path = inspect.getsourcefile(obj) or ""
    except (TypeError, OSError):
        return False
    parts = set(os.path.normpath(path).split(os.sep))
    return bool(path) and not parts & {"site-packages", "dist-packages"}


def _scan_python(obj: Any, pulls: _Pulls) -> None:
    try:
        found = _python_pulls(inspect.unwrap(obj))
    except TypeError:  # unhashable: read it uncached
        found = _python_pulls.__wrapped__(inspect.unwrap(obj))
    pulls.ids.update(found.ids)
    pulls.dynamic = pulls.dynamic or found.dynamic


@functools.lru_cache(maxsize=4096)
def _python_pulls(obj: Any) -> _Pulls:
    """The pulls in one function's or class's source, read once per object (a factory's tasks share it)."""
    pulls = _Pulls()
    try:
        source = textwrap.dedent(inspect.getsource(obj))
    except (TypeError, OSError):
        return pulls  # a builtin or code without source: nothing Python can show
    if "xcom_pull" not in source and "XCom" not in source:
        return pulls
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a lambda inside a larger expression: its line alone does not parse
        pulls.dynamic = True
        return pulls
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr == "xcom_pull":
            argument = next((k.value for k in node.keywords if k.arg == "task_ids"), node.args[0] if node.args else None)
            pulls.add(_python_literal(argument))
        elif node.func.attr in _XCOM_READS and isinstance(node.func.value, ast.Name) and node.func.value.id == "XCom":
            pulls.dynamic = True
    return pulls


def _python_literal(node: ast.expr | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None
