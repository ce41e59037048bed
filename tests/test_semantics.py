"""Every row of docs/SEMANTICS.md: the emitted `depends`/`when`, evaluated as Argo evaluates them
(bridge.argo.expr, which follows Argo's dag.go and govaluate), give each task the state Airflow's
trigger_rule_dep.py gives it, for every combination of upstream states."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pytest

from bridge import semantics
from bridge.argo.expr import evaluate_depends, evaluate_when, task_depends, task_results
from bridge.local.template import substitute
from bridge.model import SourceTask

# An upstream's Airflow state -> (Argo phase, its `state` output as downstream sees it; None: the
# node has no outputs at all, so a plain reference cannot resolve and only a guarded one can).
NODE: dict[str, tuple[str, str | None]] = {
    "success": ("Succeeded", "success"),
    "failed": ("Failed", "failed"),
    "errored": ("Error", None),  # a lost pod (deleted, evicted, node gone): Airflow marks it failed
    "skipped_inside": ("Succeeded", "skipped"),  # AirflowSkipException in the task: the pod ran
    "skipped": ("Skipped", "unknown"),  # skipped by its own upstreams: no pod, default output
    "upstream_failed": ("Omitted", "unknown"),
}
AIRFLOW_STATE = {
    "success": "success",
    "failed": "failed",
    "errored": "failed",
    "skipped_inside": "skipped",
    "skipped": "skipped",
    "upstream_failed": "upstream_failed",
}


def airflow_outcome(rule: str, states: list[str], setup_states: list[str]) -> str:
    """What Airflow's TriggerRuleDep decides once all upstreams are done: run, skipped or upstream_failed.

    A transcription of `_evaluate_direct_relatives` (Airflow 2.11 and 3.3 agree), kept as the spec;
    the parity tests check it against real `airflow dags test` runs.
    """
    success = states.count("success")
    skipped = states.count("skipped")
    failed = states.count("failed")
    upstream_failed = states.count("upstream_failed")
    n = len(states)
    if rule == "all_success":
        return "upstream_failed" if failed or upstream_failed else "skipped" if skipped else "run"
    if rule == "all_failed":
        return "skipped" if success or skipped else "run"
    if rule in ("all_done", "always"):
        return "run"
    if rule == "all_done_setup_success":
        if setup_states and setup_states.count("skipped") == len(setup_states):
            return "skipped"
        if setup_states and setup_states.count("success") == 0:
            return "upstream_failed"
        return "run"
    if rule == "all_done_min_one_success":
        return "skipped" if skipped else "upstream_failed" if success == 0 else "run"
    if rule == "all_skipped":
        return "skipped" if success or failed or upstream_failed else "run"
    if rule == "one_success":
        return "skipped" if skipped == n else "upstream_failed" if success == 0 else "run"
    if rule == "one_failed":
        return "run" if failed or upstream_failed else "skipped"
    if rule == "one_done":
        return "run" if failed or success else "skipped"
    if rule == "none_failed":
        return "upstream_failed" if failed or upstream_failed else "run"
    if rule == "none_failed_min_one_success":
        if failed or upstream_failed:
            return "upstream_failed"
        return "skipped" if skipped == n else "upstream_failed" if success == 0 else "run"
    if rule == "none_skipped":
        return "skipped" if skipped else "run"
    raise AssertionError(rule)


def argo_outcome(depends: str, when: str, upstream: dict[str, str]) -> str:
    """Evaluate the emitted conditions as Argo would, given each upstream's Airflow state."""
    if depends:
        tasks = {name: {"name": name} for name in upstream}
        names, logic = task_depends({"name": "t", "depends": depends}, tasks)
        assert set(names) <= set(upstream)
        results = {name: task_results(NODE[upstream[name]][0]) for name in names}
        if not evaluate_depends(logic, results):
            return "upstream_failed"
    scope: dict[str, str | None] = {}
    for name, state in upstream.items():
        phase, output = NODE[state]
        scope[f"tasks.{name}.status"] = phase
        if output is not None:
            scope[f"tasks.{name}.outputs.parameters.{semantics.STATE_OUTPUT}"] = output
            scope[f"tasks.{name}.outputs.parameters.{semantics.BRANCH_OUTPUT}"] = "null"
    return "run" if evaluate_when(substitute(when, scope, strict=["tasks"])) else "skipped"


def _task(rule: str, upstream: Iterable[str], task_id: str = "t", **extra: object) -> SourceTask:
    return SourceTask(task_id=task_id, operator="EmptyOperator", operator_module="m", upstream=tuple(upstream),
                      trigger_rule=rule, **extra)  # type: ignore[arg-type]


def _ups(n: int) -> dict[str, SourceTask]:
    return {f"u{i}": _task("all_success", ()) for i in range(n)}


# Documented corner (docs/SEMANTICS.md): `depends` sees phases, not the `state` output.
def _known_difference(rule: str, states: list[str], setup_states: list[str]) -> bool:
    relevant = setup_states if rule == "all_done_setup_success" else states
    if rule not in ("one_success", "all_done_setup_success"):
        return False
    return (
        "success" not in relevant
        and "skipped_inside" in relevant
        and any(s in ("failed", "errored", "upstream_failed") for s in relevant)
    )


@pytest.mark.parametrize("rule", [r for r in semantics.TRIGGER_RULES if r != "all_done_setup_success"])
def test_trigger_rule_matches_airflow_for_every_upstream_combination(rule: str) -> None:
    checked = 0
    for n in (1, 2, 3):
        upstream_tasks = _ups(n)
        names = {task_id: task_id for task_id in upstream_tasks}
        conditions = semantics.task_conditions(_task(rule, names), names, upstream_tasks, {})
        for combo in itertools.product(NODE, repeat=n):
            upstream = dict(zip(sorted(names), combo))
            airflow_states = [AIRFLOW_STATE[s] for s in combo]
            got = argo_outcome(conditions.depends, conditions.when, upstream)
            want = airflow_outcome(rule, airflow_states, [])
            if _known_difference(rule, list(combo), []):
                assert got != want, f"documented difference fixed? update docs/SEMANTICS.md: {rule} {combo}"
                continue
            assert got == want, f"{rule} with upstream {upstream}: Argo gives {got}, Airflow {want}"
            checked += 1
    assert checked > 100


# An upstream that never ends skipped (an EmptyOperator without a `when`: semantics.dag_conditions).
NEVER_SKIPPED = ("success", "failed", "errored", "upstream_failed")


@pytest.mark.parametrize("rule", [r for r in semantics.TRIGGER_RULES if r != "all_done_setup_success"])
def test_upstreams_that_never_skip_are_left_out_of_when_and_the_rule_still_matches_airflow(rule: str) -> None:
    checked = 0
    for n in (1, 2, 3):
        upstream_tasks = _ups(n)
        names = {task_id: task_id for task_id in upstream_tasks}
        for sure in itertools.combinations(sorted(names), n - 1 if n > 1 else 1):
            conditions = semantics.task_conditions(_task(rule, names), names, upstream_tasks, {}, frozenset(sure))
            choices = [NEVER_SKIPPED if name in sure else tuple(NODE) for name in sorted(names)]
            for combo in itertools.product(*choices):
                upstream = dict(zip(sorted(names), combo))
                got = argo_outcome(conditions.depends, conditions.when, upstream)
                want = airflow_outcome(rule, [AIRFLOW_STATE[s] for s in combo], [])
                if _known_difference(rule, list(combo), []):
                    continue
                assert got == want, f"{rule} with upstream {upstream} ({sure} never skip): Argo gives {got}, Airflow {want}"
                checked += 1
    assert checked > 20


def test_only_noop_tasks_without_when_count_as_never_skipped() -> None:
    tasks = {
        "start": _task("all_success", (), "start", is_noop=True),
        "bash": _task("all_success", ("start",), "bash"),  # may skip itself (exit 99)
        "join": _task("all_success", ("start", "bash"), "join", is_noop=True),  # reads bash: has a when
        "end": _task("all_success", ("join",), "end", is_noop=True),  # join may be Skipped: reads it
        "gate": _task("all_success", ("start",), "gate", is_noop=True),
        "after": _task("all_success", ("gate",), "after"),
    }
    names = {task_id: task_id for task_id in tasks}
    conditions = semantics.dag_conditions(tasks, names, {})
    assert conditions["bash"].when == "" and conditions["gate"].when == "" and conditions["after"].when == ""
    assert conditions["join"].when == semantics.succeeded("bash")
    assert conditions["end"].when == semantics.succeeded("join")
    assert conditions["after"].depends == "gate"


def test_all_done_setup_success_over_setups_and_other_upstreams() -> None:
    tasks = {
        "s1": _task("all_success", (), is_setup=True),
        "s2": _task("all_success", (), is_setup=True),
        "w": _task("all_success", ()),
    }
    names = {t: t for t in tasks}
    teardown = _task("all_done_setup_success", ("s1", "s2", "w"), is_teardown=True)
    conditions = semantics.task_conditions(teardown, names, tasks, {})
    for combo in itertools.product(NODE, repeat=3):
        upstream = dict(zip(("s1", "s2", "w"), combo))
        setup_states = [AIRFLOW_STATE[s] for s in combo[:2]]
        want = airflow_outcome("all_done_setup_success", [AIRFLOW_STATE[s] for s in combo], setup_states)
        got = argo_outcome(conditions.depends, conditions.when, upstream)
        if _known_difference("all_done_setup_success", [], list(combo[:2])):
            assert got != want
            continue
        assert got == want, f"{upstream}: Argo gives {got}, Airflow {want}"
    without_setups = semantics.task_conditions(_task("all_done_setup_success", ("w",)), names, tasks, {})
    assert argo_outcome(without_setups.depends, without_setups.when, {"w": "failed"}) == "run"


def test_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown trigger rule"):
        semantics.task_conditions(_task("sometimes", ("u0",)), {"u0": "u0"}, _ups(1), {})


def _branch_outcome(kind: str, state: str, branch: str, rule: str = "all_success") -> str:
    tasks = {"b": _task("all_success", (), skip_kind=kind), "x": _task("all_success", ())}
    names = {"b": "b", "x": "x", "grp.t": "grp-t"}
    target = SourceTask(task_id="grp.t", operator="E", operator_module="m", upstream=("b",), trigger_rule=rule)
    conditions = semantics.task_conditions(target, names, {**tasks, "grp.t": target}, {})
    phase, output = NODE[state]
    scope: dict[str, str | None] = {"tasks.b.status": phase}
    if output is not None:
        scope[f"tasks.b.outputs.parameters.{semantics.STATE_OUTPUT}"] = output
        scope[f"tasks.b.outputs.parameters.{semantics.BRANCH_OUTPUT}"] = branch if phase == "Succeeded" else "null"
    if conditions.depends:
        _, logic = task_depends({"name": "t", "depends": conditions.depends}, {"b": {"name": "b"}})
        if not evaluate_depends(logic, {"b": task_results(phase)}):
            return "upstream_failed"
    return "run" if evaluate_when(substitute(conditions.when, scope, strict=["tasks"])) else "skipped"


@pytest.mark.parametrize(
    "kind, state, branch, rule, expected",
    [
        ("branch", "success", ",grp.t,", "all_success", "run"),
        ("branch", "success", ",other,", "all_success", "skipped"),
        ("branch", "success", ",grp_t,", "all_success", "skipped"),  # '.' is matched literally
        ("branch", "success", ",grp.tt,", "all_success", "skipped"),  # whole ids only
        ("branch", "success", ",", "all_done", "skipped"),  # a branch skips whatever the rule
        ("branch", "success", ",grp.t,x,", "none_failed", "run"),
        ("branch", "failed", "null", "all_success", "upstream_failed"),
        ("branch", "failed", "null", "all_done", "run"),
        ("branch", "skipped_inside", "null", "all_success", "skipped"),
        ("short_circuit", "success", ",", "all_done", "skipped"),
        ("short_circuit", "success", ",grp.t,", "all_success", "run"),
        ("short_circuit_all", "success", ",", "one_failed", "skipped"),
    ],
)
def test_branch_decisions(kind: str, state: str, branch: str, rule: str, expected: str) -> None:
    assert _branch_outcome(kind, state, branch, rule) == expected


@pytest.mark.parametrize("decision, expected", [(",", "skipped"), (",a,", "run")])
def test_short_circuit_ignoring_trigger_rules_skips_every_descendant(decision: str, expected: str) -> None:
    tasks = {
        "sc": _task("all_success", (), "sc", skip_kind="short_circuit_all"),
        "a": _task("all_success", ("sc",), "a"),
        "c": _task("all_done", ("a",), "c"),
    }
    names = {t: t for t in tasks}
    downstream = {"sc": {"a"}, "a": {"c"}, "c": set()}
    short_circuits = {"sc": semantics.descendants("sc", downstream)}
    conditions = semantics.task_conditions(tasks["c"], names, tasks, short_circuits)
    scope = {
        "tasks.a.status": "Skipped" if decision == "," else "Succeeded",
        f"tasks.a.outputs.parameters.{semantics.STATE_OUTPUT}": "unknown" if decision == "," else "success",
        f"tasks.sc.outputs.parameters.{semantics.STATE_OUTPUT}": "success",
        f"tasks.sc.outputs.parameters.{semantics.BRANCH_OUTPUT}": decision,
    }
    assert ("run" if evaluate_when(substitute(conditions.when, scope, strict=["tasks"])) else "skipped") == expected
    # Without the short-circuit condition an all_done task would run after a skipped upstream.
    plain = semantics.task_conditions(tasks["c"], names, tasks, {})
    assert evaluate_when(substitute(plain.when, scope, strict=["tasks"])) is True


def test_indirect_setup_failure_and_skip() -> None:
    tasks = {"s": _task("all_success", (), is_setup=True), "a": _task("all_done", ())}
    names = {"s": "s", "a": "a"}
    task = _task("all_done", ("a",), indirect_setups=("s",))
    conditions = semantics.task_conditions(task, names, tasks, {})
    for setup_state, expected in [("success", "run"), ("failed", "upstream_failed"), ("skipped", "skipped")]:
        assert argo_outcome(conditions.depends, conditions.when, {"a": "success", "s": setup_state}) == expected


@pytest.mark.parametrize(
    "leaves, expected",
    [
        ({"a": "success", "t": "failed"}, True),  # a failed teardown does not fail the run
        ({"a": "failed", "t": "success"}, False),  # the work before the teardown failed
        ({"a": "skipped", "t": "success"}, True),
        ({"a": "upstream_failed", "t": "skipped"}, False),
    ],
)
def test_verdict_follows_the_dagrun_state_tasks(leaves: dict[str, str], expected: bool) -> None:
    tasks = {"a": _task("all_success", ()), "t": _task("all_done_setup_success", ("a",), is_teardown=True)}
    downstream = {"a": {"t"}, "t": set()}
    state_tasks = semantics.dagrun_state_tasks(tasks, downstream)
    assert state_tasks == ["a"]
    depends = semantics.verdict_depends(state_tasks, ["t"])
    _, logic = task_depends({"name": "v", "depends": depends}, {"a": {"name": "a"}, "t": {"name": "t"}})
    results = {name: task_results(NODE[state][0]) for name, state in leaves.items()}
    assert evaluate_depends(logic, results) is expected


def test_short_circuit_never_skips_a_teardown() -> None:
    tasks = {
        "sc": _task("all_success", (), "sc", skip_kind="short_circuit_all"),
        "a": _task("all_success", ("sc",), "a"),
        "td": _task("all_done_setup_success", ("sc", "a"), "td", is_teardown=True),
    }
    names = {t: t for t in tasks}
    short_circuits = {"sc": semantics.descendants("sc", {"sc": {"a", "td"}, "a": {"td"}, "td": set()})}
    conditions = semantics.task_conditions(tasks["td"], names, tasks, short_circuits)
    assert f"outputs.parameters.{semantics.BRANCH_OUTPUT}}}" not in conditions.when
    # The same search finds the short-circuit's decision where it applies: the check above can fail.
    assert f"outputs.parameters.{semantics.BRANCH_OUTPUT}}}" in semantics.task_conditions(tasks["a"], names, tasks, short_circuits).when


# A mapped upstream: Airflow counts every map index as one upstream; bridge's node carries the aggregate.
INDEX_STATES = ("success", "skipped_inside", "failed")


def _mapped_node(indexes: tuple[str, ...]) -> tuple[str, str]:
    """(phase, state output) of a mapped task's pod whose map indexes ended in `indexes`."""
    from bridge.runtime.runner import aggregate_state

    state = aggregate_state([AIRFLOW_STATE[s] for s in indexes])
    return ("Failed" if state == "failed" else "Succeeded", state)


@pytest.mark.parametrize("rule", [r for r in semantics.TRIGGER_RULES if r != "all_done_setup_success"])
def test_mapped_upstream_counts_each_map_index(rule: str) -> None:
    upstream_tasks = {"m": _task("all_success", (), task_id="m", is_mapped=True), "u": _task("all_success", ())}
    names = {"m": "m", "u": "u"}
    conditions = semantics.task_conditions(_task(rule, names), names, upstream_tasks, {})
    checked = 0
    for n in (1, 2, 3):
        for indexes in itertools.product(INDEX_STATES, repeat=n):
            failed_some = "failed" in indexes and len(set(indexes)) > 1
            if failed_some:
                continue  # documented difference: a partly failed mapped task counts as failed
            for other in NODE:
                NODE["mapped"] = _mapped_node(indexes)
                try:
                    got = argo_outcome(conditions.depends, conditions.when, {"m": "mapped", "u": other})
                finally:
                    del NODE["mapped"]
                want = airflow_outcome(rule, [AIRFLOW_STATE[s] for s in (*indexes, other)], [])
                if _known_difference(rule, [*indexes, other], []):
                    continue
                assert got == want, f"{rule}: map indexes {indexes}, other upstream {other}: Argo {got}, Airflow {want}"
                checked += 1
    assert checked > 50


def test_aggregate_state_of_map_indexes() -> None:
    from bridge.runtime.runner import aggregate_state

    assert aggregate_state([]) == "skipped"  # zero-length expansion
    assert aggregate_state(["success", "success"]) == "success"
    assert aggregate_state(["skipped", "skipped"]) == "skipped"
    assert aggregate_state(["success", "skipped"]) == "mixed"
    assert aggregate_state(["success", "failed", "skipped"]) == "failed"
    assert aggregate_state(["success", "upstream_failed"]) == "failed"


@pytest.mark.parametrize(
    "states, runs",
    [
        (["success", "success"], True),
        (["success", "success", "success"], True),
        (["success", ""], False),  # an empty value must not vanish from the joined list
        (["", "successsuccess"], False),
        (["success", "unknown"], False),
        (["mixed", "success"], False),
        (["successs", "uccess"], False),
    ],
)
def test_all_success_over_several_upstreams_needs_every_state_success(states: list[str], runs: bool) -> None:
    names = [f"u{i}" for i in range(len(states))]
    when = semantics.all_succeeded(names)
    assert when.count("=~") == 1  # one comparison for all upstreams (docs/LINT.md, size)
    scope = {f"tasks.{n}.outputs.parameters.{semantics.STATE_OUTPUT}": s for n, s in zip(names, states)}
    assert evaluate_when(substitute(when, scope, strict=["tasks"])) is runs
