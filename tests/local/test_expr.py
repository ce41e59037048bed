"""`depends` and `when` as Argo v4.1.2 evaluates them (ancestry.go, dag.go, steps.go + govaluate)."""

from __future__ import annotations

import pytest

from bridge.argo.expr import ExpressionError, evaluate_depends, evaluate_expression, evaluate_when, task_depends, task_results
from bridge.local.phase import assess_dag_phase, leaf_tasks
from bridge.local.spec import WorkflowError, parse_duration
from bridge.local.template import SubstitutionError, substitute

TASKS = {"a": {"name": "a"}, "b-x": {"name": "b-x", "continueOn": {"failed": True}}, "c": {"name": "c"}}


def test_bare_names_expand_like_argo():
    deps, logic = task_depends({"name": "c", "depends": "a && b-x.Failed"}, TASKS)
    assert deps == ["a", "b-x"]
    assert logic == "(a.Succeeded || a.Skipped || a.Daemoned) && b-x.Failed"


def test_legacy_dependencies_and_continue_on():
    deps, logic = task_depends({"name": "c", "dependencies": ["a", "b-x"]}, TASKS)
    assert deps == ["a", "b-x"]
    assert logic == "(a.Succeeded || a.Skipped || a.Daemoned) && (b-x.Succeeded || b-x.Skipped || b-x.Daemoned || b-x.Failed)"


def test_unknown_dependency_is_rejected():
    with pytest.raises(ExpressionError, match="not a task"):
        task_depends({"name": "c", "depends": "nope.Succeeded"}, TASKS)


@pytest.mark.parametrize(
    "logic, expected",
    [
        ("a.Succeeded && b-x.Failed", True),
        ("a.Succeeded && !b-x.Failed", False),
        ("!(a.Failed || b-x.Succeeded)", True),
        ("a.Omitted || (b-x.Failed && a.Succeeded)", True),
        ("a.Errored", False),
    ],
)
def test_depends_logic(logic, expected):
    results = {"a": task_results("Succeeded"), "b-x": task_results("Failed")}
    assert evaluate_depends(logic, results) is expected


def test_depends_syntax_error():
    with pytest.raises(ExpressionError):
        evaluate_depends("a.Succeeded &&", {"a": task_results("Succeeded")})


@pytest.mark.parametrize(
    "when, expected",
    [
        ("", True),
        ("true", True),
        ("success == success", True),  # bare words are strings
        ("'success' == success", True),
        ("Succeeded != Failed && !false", True),
        ("5 == 5.0", True),  # numbers are float64
        ("5 == '5'", False),  # reflect.DeepEqual: types differ
        ("'abc' =~ '^a'", True),
        ("'abc' !~ 'b'", False),
        ("2 > 10", False),
        ("'2' > '10'", True),  # strings compare lexically
        ("(true || false) && false", False),
        ("true || false && false", True),  # && binds tighter
        ("1 + 2 == 3", True),
        ("'a' + 1 == a1", True),
        ("2024-01-01 == 2022", True),  # a bare date is arithmetic in govaluate
        ("'2024-01-01' == '2024-01-01'", True),
        ("false && nonsense", False),  # short-circuit skips the type check
    ],
)
def test_when(when, expected):
    assert evaluate_when(when) is expected


@pytest.mark.parametrize(
    "when, message",
    [
        ("'abc", "Unclosed string literal"),
        ("a ==", "Unexpected end"),
        ("success", "Expected boolean"),
        ("'x' && true", "logical operator"),
        ("foo.bar == x", "unexported field"),
        ("a $ b", "Invalid token"),
        # govaluate ends a string at either quote: JSON in single quotes is not one string.
        ("'[\"a\"]' =~ 'a'", "Cannot transition token types"),
    ],
)
def test_when_errors(when, message):
    with pytest.raises(ExpressionError, match=message):
        evaluate_when(when)


def test_substitution_is_strict_only_for_tasks():
    scope = {"tasks.a.status": "Succeeded", "workflow.parameters.x": "1", "tasks.b.outputs.parameters.p": None}
    assert substitute("{{ tasks.a.status }}-{{inputs.parameters.y}}", scope, ("tasks", "steps")) == (
        "Succeeded-{{inputs.parameters.y}}"
    )
    with pytest.raises(SubstitutionError, match="failed to resolve"):
        substitute("{{tasks.c.status}}", scope, ("tasks", "steps"))
    with pytest.raises(SubstitutionError, match="absent optional"):
        substitute("{{tasks.b.outputs.parameters.p}}", scope, ("tasks", "steps"))


@pytest.mark.parametrize("text, seconds", [("300s", 300), ("2m", 120), ("1h30m", 5400), (30, 30), ("0", 0), ("1.5s", 1.5)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_bad_duration():
    with pytest.raises(WorkflowError, match="duration"):
        parse_duration("soon")


DEPS = {"a": [], "b": ["a"], "c": ["b"], "cleanup": ["a"]}


@pytest.mark.parametrize(
    "phases, expected",
    [
        ({"a": "Succeeded", "b": "Succeeded", "c": "Succeeded", "cleanup": "Skipped"}, "Succeeded"),
        ({"a": "Failed", "b": "Omitted", "c": "Omitted", "cleanup": "Succeeded"}, "Failed"),
        ({"a": "Succeeded", "b": "Failed", "c": "Omitted", "cleanup": "Skipped"}, "Failed"),
        ({"a": "Succeeded", "b": "Error", "c": "Succeeded", "cleanup": "Skipped"}, "Succeeded"),
        ({"a": "Succeeded", "b": "Succeeded", "c": "Error", "cleanup": "Skipped"}, "Error"),
        ({"a": "Succeeded", "b": "Running", "cleanup": "Skipped"}, "Running"),
    ],
)
def test_assess_dag_phase(phases, expected):
    assert leaf_tasks(DEPS) == ["c", "cleanup"]
    assert assess_dag_phase(DEPS, phases, leaf_tasks(DEPS)) == expected


def test_assess_dag_phase_failed_first_parent_wins_for_omitted_join():
    deps = {"a": [], "b": [], "join": ["a", "b"]}
    phases = {"a": "Succeeded", "b": "Failed", "join": "Omitted"}
    assert assess_dag_phase(deps, phases, ["join"]) == "Failed"
    assert assess_dag_phase(deps, phases, ["join"], continue_on={"join": {"failed": True}}) == "Succeeded"


@pytest.mark.parametrize(
    "pod, skip, expected",
    [
        ("Succeeded", "Skipped", "Succeeded"),  # exit 0, not a skip code
        ("Failed", "Succeeded", "Succeeded"),  # a skip code: the no-op step ran
        ("Failed", "Skipped", "Failed"),  # another exit code: the skip step takes the pod's phase
        ("Error", "Omitted", "Error"),  # no exit code at all (a lost pod)
    ],
)
def test_a_skip_step_decides_its_pods_dag_phase(pod, skip, expected):
    """bridge.emit.argo's skip_on_exit_code DAG (pod, then skip): assessDAGPhase on its only leaf."""
    deps = {"pod": [], "skip": ["pod"]}
    assert assess_dag_phase(deps, {"pod": pod, "skip": skip}, leaf_tasks(deps)) == expected


def test_the_guarded_exit_code_and_the_skip_state_expression():
    """The `when` of the skip step reads the pod's exit code through the guarded tag (its default
    when the node has none), and the DAG's `s` output is a ternary over the skip step's status."""
    when = "'{{=get(tasks['pod'],'exitCode')??'none'}}' =~ '^(3|100)$'"
    assert substitute(when, {"tasks.pod.status": "Failed", "tasks.pod.exitCode": "100"}) == "'100' =~ '^(3|100)$'"
    assert substitute(when, {"tasks.pod.status": "Failed"}) == "'none' =~ '^(3|100)$'"
    assert evaluate_when("'100' =~ '^(3|100)$'") and not evaluate_when("'none' =~ '^(3|100)$'")
    state = "tasks.skip.status == 'Succeeded' ? 'skipped' : 'success'"
    assert evaluate_expression(state, {"tasks.skip.status": "Succeeded"}) == "skipped"
    assert evaluate_expression(state, {"tasks.skip.status": "Skipped"}) == "success"
    with pytest.raises(ExpressionError, match="unknown name"):
        evaluate_expression(state, {})


def test_when_over_thousands_of_upstreams_does_not_hit_the_recursion_limit() -> None:
    terms = ["'success' == 'success'"] * 5000
    assert evaluate_when(" && ".join(terms)) is True
    assert evaluate_when(" && ".join(terms + ["'a' == 'b'"])) is False
    assert evaluate_when(" || ".join(["'a' == 'b'"] * 5000 + ["'x' == 'x'"])) is True
