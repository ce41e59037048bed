"""Airflow trigger rules, branches and skips as Argo `depends` and `when` expressions. Pure.

How an Airflow task state is carried by an Argo node (see docs/SEMANTICS.md):

    success          Succeeded, output `state` = success   (the pod ran)
    skipped (inside) Succeeded, output `state` = skipped   (AirflowSkipException in the task)
    failed           Failed or Error                       (non-zero exit, timeout, lost pod)
    skipped          Skipped                               (`when` false: no pod)
    upstream_failed  Omitted                               (`depends` false: no pod)

A native pod (a KubernetesPodOperator's own container, SourceTask.native_pod) writes no `state`:
its node's phase alone is its Airflow state (Succeeded = success), so the conditions read its status.
One with skip_on_exit_code (SourceTask.pod_skip_codes) does have `state` (success or skipped: the
output of its DAG template, bridge.emit.argo), so it is read like any task's.

`depends` is false exactly when Airflow would mark the task upstream_failed; `when` is false
exactly when it would mark it skipped. Argo evaluates `depends` only once every task it names
is finished, and `when` only after `depends` held.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from bridge.model import SourceTask

TRIGGER_RULES = (
    "all_success",
    "all_failed",
    "all_done",
    "all_done_setup_success",
    "all_done_min_one_success",
    "all_skipped",
    "one_success",
    "one_failed",
    "one_done",
    "none_failed",
    "none_failed_min_one_success",
    "none_skipped",
    "always",
)


@dataclass(frozen=True)
class Conditions:
    """The Argo conditions of one DAG task ("" when absent).

    `safe`: the tasks whose outputs exist whenever this one runs (its `depends` requires them to be
    Succeeded or Skipped); any other task's outputs it reads through a guarded reference (`guarded_ref`).
    """

    depends: str
    when: str
    safe: frozenset[str] = frozenset()


# ---- depends terms (Argo node phases) -------------------------------------------------------


# A bare task name in `depends` is Argo's `(name.Succeeded || name.Skipped || name.Daemoned)`
# (ancestry.go expandDependency); no bridge template is a daemon, so it reads "Succeeded or Skipped".


def done(name: str) -> str:
    """True for any finished task (a tautology): makes Argo wait for `name` without constraining it."""
    return f"({name} || !{name})"


def not_failed(name: str) -> str:
    """The upstream is neither failed nor upstream_failed: Succeeded or Skipped, Argo's bare name."""
    return name


# ---- when terms (node status and the runner's `state` output) ---------------------------------

# The task templates' output parameters (declared by bridge/emit/argo.py; docs/DESIGN.md).
XCOM_OUTPUT = "x"
STATE_OUTPUT = "s"
BRANCH_OUTPUT = "b"
STATES_OUTPUT = "states"
RAW_XCOM_OUTPUT = "r"  # a native pod's /airflow/xcom/return.json, as written (do_xcom_push=True)
TRY_OUTPUT = "t"  # a retried native pod's last try, Argo's {{retries}} (0 first), for its callbacks step


# What a guarded reference gives when the node has no outputs: the declared defaults of
# bridge/emit/argo.py, but no rows as "" (the runner reads an empty document as none, as Argo
# 3.7.13-3.7.15 pass for a skipped upstream), which is shorter than `{"rows": []}`.
MISSING_OUTPUT = {XCOM_OUTPUT: "", STATE_OUTPUT: "unknown", BRANCH_OUTPUT: "null", STATES_OUTPUT: "null", RAW_XCOM_OUTPUT: "null", TRY_OUTPUT: "0"}

_OUTPUT_REF = re.compile(r"\{\{tasks\.([a-z0-9-]+)\.outputs\.parameters\.([a-z]+)\}\}")


def output_ref(name: str, output: str, guarded: bool = False) -> str:
    """The `{{…}}` reference to an output parameter of DAG task `name` (guarded: see `guarded_ref`)."""
    return guarded_ref(name, output) if guarded else f"{{{{tasks.{name}.outputs.parameters.{output}}}}}"


def guarded_ref(name: str, output: str) -> str:
    """A reference that resolves on every Argo release even when the node has no outputs at all.

    A Failed or Error node whose pod was lost (deleted, evicted, its Kubernetes node gone) has no
    outputs: Argo 3.7.11+ / 4.0.2+ / 4.1 requeue a plain `{{tasks.U.outputs.parameters.P}}` to it
    forever (docs/COMPATIBILITY.md, "A lost pod"). This expression tag gives the value when there
    is one and the declared default when not: `get()` is expr-lang's nil-safe index, and the path
    after it is no member path, so no release's strict check finds a missing variable in it (only
    `tasks` and `tasks.U`, which every ancestor has: its status and id).
    """
    return f"{{{{=get(tasks['{name}'],'outputs')?.parameters?.{output}??'{MISSING_OUTPUT[output]}'}}}}"


def guard_references(text: str, safe: frozenset[str]) -> str:
    """`text` with every output reference to a task not in `safe` made a `guarded_ref`."""
    return _OUTPUT_REF.sub(lambda m: m.group(0) if m.group(1) in safe else guarded_ref(m.group(1), m.group(2)), text)


def _status(name: str) -> str:
    return f"'{{{{tasks.{name}.status}}}}'"


def _state(name: str) -> str:
    return f"'{output_ref(name, STATE_OUTPUT)}'"


def _branch(name: str) -> str:
    return f"'{output_ref(name, BRANCH_OUTPUT)}'"


def succeeded(name: str, native: bool = False) -> str:
    """Airflow state success (only a pod that ran writes it; a native pod's is its phase)."""
    if native:
        return f"{_status(name)} == 'Succeeded'"
    return f"{_state(name)} == 'success'"


def all_succeeded(names: list[str]) -> str:
    """Every one of `names` in Airflow state success.

    Several upstreams share one comparison: `'{{a…state}},{{b…state}},' =~ '^(success,)+$'` holds
    exactly when every value is `success`, because a `state` never holds a comma (the runner writes
    one word of a fixed set; a node without a pod resolves to the default `unknown`). This saves
    about 20 bytes per upstream over `… == 'success' && …` (docs/LINT.md, Scale).
    """
    if len(names) <= 1:
        return "".join(succeeded(name) for name in names)
    joined = "".join(f"{output_ref(name, STATE_OUTPUT)}," for name in names)
    return f"'{joined}' =~ '^(success,)+$'"


def skipped(name: str, native: bool = False) -> str:
    """Airflow state skipped: not run (Skipped) or skipped inside the task (a native pod never is)."""
    if native:
        return f"{_status(name)} == 'Skipped'"
    return f"({_status(name)} == 'Skipped' || {_state(name)} == 'skipped')"


def not_skipped(name: str) -> str:
    """Any Airflow state but skipped."""
    return f"({_status(name)} != 'Skipped' && {_state(name)} != 'skipped')"


# A mapped task's `state` is the aggregate of its map indexes (bridge.runtime.runner.aggregate_state);
# `mixed` = some success and some skipped, none failed. Airflow counts each index as one upstream,
# so `mixed` counts as a success for the min-one-success rules and as a skip for the no-skip rules.
MIXED = "mixed"


def some_succeeded(name: str, mapped: bool, native: bool = False) -> str:
    """At least one success (for a mapped task: at least one map index succeeded)."""
    if not mapped:
        return succeeded(name, native)
    return f"({_state(name)} == 'success' || {_state(name)} == '{MIXED}')"


def none_skipped(name: str, mapped: bool, native: bool = False) -> str:
    """No skip (for a mapped task: no map index skipped)."""
    if native:
        return f"{_status(name)} != 'Skipped'"
    if not mapped:
        return not_skipped(name)
    return f"({_status(name)} != 'Skipped' && {_state(name)} != 'skipped' && {_state(name)} != '{MIXED}')"


NO_EXIT_CODE = "none"  # a node without an exit code (a pod that never started or was lost)


def exit_code_ref(name: str) -> str:
    """DAG task `name`'s main container exit code, or NO_EXIT_CODE (a guarded tag: bridge.argo.expr)."""
    return f"{{{{=get(tasks['{name}'],'exitCode')??'{NO_EXIT_CODE}'}}}}"


def exit_code_in(name: str, codes: Iterable[int]) -> str:
    """The main container of DAG task `name` exited with one of `codes` (a node without an exit
    code, e.g. a pod that never started, did not: NO_EXIT_CODE matches no code)."""
    pattern = "|".join(str(code) for code in codes)
    return f"'{exit_code_ref(name)}' =~ '^({pattern})$'"


def failed(name: str) -> str:
    """Airflow state failed (not upstream_failed)."""
    return f"({_status(name)} == 'Failed' || {_status(name)} == 'Error')"


def failed_or_upstream_failed(name: str) -> str:
    """Airflow state failed or upstream_failed."""
    return f"({_status(name)} == 'Failed' || {_status(name)} == 'Error' || {_status(name)} == 'Omitted')"


def _all(terms: Iterable[str]) -> str:
    return " && ".join(terms)


def _group(terms: Iterable[str]) -> str:
    """A conjunction, parenthesised when it has several terms (to sit inside a disjunction)."""
    items = list(terms)
    return items[0] if len(items) == 1 else "(" + " && ".join(items) + ")"


def _any(terms: Iterable[str]) -> str:
    items = list(terms)
    if len(items) <= 1:
        return "".join(items)
    return "(" + " || ".join(items) + ")"


def _and(*parts: str) -> str:
    return " && ".join(part for part in parts if part)


# ---- the trigger rules ---------------------------------------------------------------------


def _rule(
    rule: str,
    ups: list[str],
    setups: list[str],
    mapped: frozenset[str] = frozenset(),
    sure: frozenset[str] = frozenset(),
    native: frozenset[str] = frozenset(),
) -> Conditions:
    """depends/when for one trigger rule over the direct upstreams (Argo names; `mapped`: mapped
    ones; `sure`: ones that never end skipped, so that a Succeeded one is success: see dag_conditions;
    `native`: native pods, whose phase is their state)."""

    def some(u: str) -> str:
        return some_succeeded(u, u in mapped, u in native)

    def unskipped(u: str) -> str:
        return none_skipped(u, u in mapped, u in native)

    def all_success(names: list[str]) -> str:
        plain = all_succeeded([u for u in names if u not in native])
        return _and(plain, _all(succeeded(u, True) for u in names if u in native))

    wait_all = _all(done(u) for u in ups)
    if rule == "all_success":
        return Conditions(_all(not_failed(u) for u in ups), all_success([u for u in ups if u not in sure]))
    if rule == "all_failed":
        return Conditions(wait_all, _all(failed_or_upstream_failed(u) for u in ups))
    if rule in ("all_done", "always"):
        return Conditions(wait_all, "")
    if rule == "all_done_setup_success":
        if not setups:
            return Conditions(wait_all, "")
        others = _all(done(u) for u in ups if u not in setups)
        gate = "(" + " || ".join([*(f"{s}.Succeeded" for s in setups), _group(f"{s}.Skipped" for s in setups)]) + ")"
        return Conditions(_and(others, gate), _any(some(s) for s in setups))
    if rule == "all_done_min_one_success":
        return Conditions(_any(not_failed(u) for u in ups), _all(unskipped(u) for u in ups if u not in sure))
    if rule == "all_skipped":
        return Conditions(wait_all, _all(skipped(u, u in native) for u in ups))
    if rule == "one_success":
        any_ran = [f"{u}.Succeeded" for u in ups]
        all_skipped = _group(f"{u}.Skipped" for u in ups)
        depends = "(" + " || ".join([*any_ran, all_skipped]) + ")" if ups else ""
        return Conditions(depends, _any(some(u) for u in ups))
    if rule == "one_failed":
        return Conditions(wait_all, _any(failed_or_upstream_failed(u) for u in ups))
    if rule == "one_done":
        return Conditions(wait_all, _any(term for u in ups for term in (some(u), failed(u))))
    if rule == "none_failed":
        return Conditions(_all(not_failed(u) for u in ups), "")
    if rule == "none_failed_min_one_success":
        return Conditions(_all(not_failed(u) for u in ups), "" if sure & set(ups) else _any(some(u) for u in ups))
    if rule == "none_skipped":
        return Conditions(wait_all, _all(unskipped(u) for u in ups if u not in sure))
    raise ValueError(f"unknown trigger rule {rule!r}")


def _follows(branching: str, task_id: str) -> str:
    """The branching task did not run to a decision, or its decision includes `task_id`.

    The `branch` output is `,id1,id2,` (`,` for none): govaluate ends a string literal at either
    quote character, so the decision must not contain quotes, and ids never contain commas.
    """
    pattern = "," + "".join("[.]" if ch == "." else ch for ch in task_id) + ","
    return f"({_state(branching)} != 'success' || {_branch(branching)} =~ '{pattern}')"


def _not_short_circuited(name: str) -> str:
    """The short-circuit task did not run to a decision, or let its downstream run."""
    return f"({_state(name)} != 'success' || {_branch(name)} != ',')"


# Trigger rules whose `depends` requires every direct upstream to be Succeeded or Skipped (ok(u)).
_REQUIRE_ALL = frozenset({"all_success", "none_failed", "none_failed_min_one_success"})


def phase_is_state(task: SourceTask) -> bool:
    """A native pod that cannot skip itself: its node's phase alone is its Airflow state (no `state` output)."""
    return bool(task.native_pod) and not task.pod_skip_codes


def dag_conditions(
    tasks: Mapping[str, SourceTask], names: Mapping[str, str], short_circuits: Mapping[str, frozenset[str]]
) -> dict[str, Conditions]:
    """task_conditions for every task, knowing which tasks never end skipped (`tasks` in topological
    order, as SourceDag.tasks are; an upstream seen later only counts as one that may skip).

    A task never ends skipped when its run cannot skip it (SourceTask.is_noop: an EmptyOperator;
    a native pod) and it has no `when` (no Argo Skipped): then its node is Succeeded exactly when
    Airflow's state is success, and a downstream's `when` need not read its `state` (docs/SEMANTICS.md, "Size").
    """
    sure: set[str] = set()
    found: dict[str, Conditions] = {}
    for task_id, task in tasks.items():
        conditions = task_conditions(task, names, tasks, short_circuits, sure)
        found[task_id] = conditions
        if (task.is_noop or phase_is_state(task)) and not conditions.when:
            sure.add(task_id)
    return found


def task_conditions(
    task: SourceTask,
    names: Mapping[str, str],
    tasks: Mapping[str, SourceTask],
    short_circuits: Mapping[str, frozenset[str]],
    never_skipped: AbstractSet[str] = frozenset(),
) -> Conditions:
    """The Argo `depends` and `when` that give `task` the state Airflow would give it
    (`never_skipped`: task ids known never to end skipped, see dag_conditions)."""
    ups = sorted(names[u] for u in task.upstream)
    setups = sorted(names[u] for u in task.upstream if tasks[u].is_setup)
    if not ups:
        return Conditions("", "")
    mapped = frozenset(names[u] for u in task.upstream if tasks[u].is_mapped)
    sure = frozenset(names[u] for u in task.upstream if u in never_skipped)
    native = frozenset(names[u] for u in task.upstream if phase_is_state(tasks[u]))
    rule = _rule(task.trigger_rule, ups, setups, mapped, sure, native)
    depends, when = rule.depends, rule.when
    # The tasks `depends` requires Succeeded or Skipped: their outputs exist whenever this task runs.
    safe = set(ups) if task.trigger_rule in _REQUIRE_ALL else set()
    # Setups upstream of upstreams: Airflow checks them first (failed -> upstream_failed, skipped -> skipped).
    for setup in task.indirect_setups:
        depends = _and(depends, not_failed(names[setup]))
        when = _and(when, succeeded(names[setup], phase_is_state(tasks[setup])))
        safe.add(names[setup])
    # Branch and short-circuit decisions skip downstream tasks whatever their trigger rule;
    # a short-circuit never skips teardowns (ShortCircuitOperator.execute).
    for up in task.upstream:
        kind = tasks[up].skip_kind
        if kind == "branch" or (kind in ("short_circuit", "short_circuit_all") and not task.is_teardown):
            when = _and(when, _follows(names[up], task.task_id))
    if not task.is_teardown:
        # A short-circuit that ignores downstream trigger rules skips every descendant.
        direct = set(task.upstream)
        for short_circuit, descendants in sorted(short_circuits.items()):
            if short_circuit not in direct and task.task_id in descendants:
                when = _and(when, _not_short_circuited(names[short_circuit]))
    # Any other task read here may have failed with its pod lost, leaving no outputs.
    kept = frozenset(safe)
    return Conditions(depends, guard_references(when, kept), kept)


def dagrun_state_tasks(tasks: Mapping[str, SourceTask], downstream: Mapping[str, set[str]]) -> list[str]:
    """The tasks whose states decide the DagRun state (Airflow's `_tis_for_dagrun_state`)."""

    def ignorable(task_id: str) -> bool:
        task = tasks[task_id]
        return task.is_teardown and not task.on_failure_fail_dagrun

    leaves = [
        task_id
        for task_id in tasks
        if all(ignorable(down) for down in downstream.get(task_id, ())) and not ignorable(task_id)
    ]
    if not leaves:
        leaves = [task_id for task_id in tasks if not downstream.get(task_id)]
    return sorted(leaves)


def verdict_depends(state_tasks: Iterable[str], leaves: Iterable[str]) -> str:
    """The verdict node runs (Succeeded) iff no DagRun-state task failed or upstream_failed.

    Otherwise it is Omitted and, per Argo's assessDAGPhase, inherits the Failed phase of the
    branch that led to it, so the Workflow fails exactly when the DagRun would.
    """
    state = list(state_tasks)
    others = [leaf for leaf in leaves if leaf not in state]
    return _and(_all(not_failed(n) for n in state), _all(done(n) for n in others))


def descendants(task_id: str, downstream: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """Every task reachable downstream of `task_id` (given the upstream edges: every ancestor)."""
    seen: set[str] = set()
    stack = list(downstream.get(task_id, ()))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(downstream.get(current, ()))
    return frozenset(seen)
