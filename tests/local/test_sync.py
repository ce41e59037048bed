"""bridge run honours Argo's synchronization: template semaphores and mutexes limit a run's pods."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.local.sync import LockError, Locks
from tests.local.builders import py_template, task, workflow

SLEEP = "time.sleep(0.3)"


def semaphore(config_map: str, key: str = "slots") -> dict:
    return {"configMapKeyRef": {"name": config_map, "key": key}}


def locked(name: str, *, semaphores: tuple[str, ...] = (), mutexes: tuple[str, ...] = (), **extra) -> dict:
    """A py template holding the given semaphores (ConfigMap names, key `slots`) and mutexes."""
    sync: dict = {}
    if semaphores:
        sync["semaphores"] = [semaphore(s) for s in semaphores]
    if mutexes:
        sync["mutexes"] = [{"name": m} for m in mutexes]
    return py_template(name, synchronization=sync, **extra)


def overlap(events, tasks: set[str]) -> int:
    """The most pods of `tasks` running at once, from the recorded event order."""
    running = peak = 0
    for event in events.events:
        if event.task not in tasks:
            continue
        if event.kind == "started":
            running += 1
            peak = max(peak, running)
        elif event.kind in ("succeeded", "failed", "errored", "retrying"):
            running -= 1
    return peak


def order(events, kind: str) -> list[str]:
    return [e.task for e in events.events if e.kind == kind]


def test_template_semaphore_limits_pods_of_the_run(run):
    names = [f"t{i}" for i in range(5)]
    wf = workflow([task(n, SLEEP, template="pool") for n in names], [locked("pool", semaphores=("bridge-pool-api",))])
    result, events = run(wf, config_maps={"bridge-pool-api": {"slots": "2"}})
    assert result.phase == "Succeeded"
    assert overlap(events, set(names)) == 2
    # The three that waited said so, once each, with Argo's message.
    waiting = [e for e in events.events if e.kind == "waiting"]
    assert [e.task for e in waiting] == ["t2", "t3", "t4"]
    assert waiting[0].message == "Waiting for default/ConfigMap/bridge-pool-api/slots lock. Lock status: 0/2"
    # Control: the same Workflow with more slots runs them all at once.
    _, events = run(wf, config_maps={"bridge-pool-api": {"slots": "5"}})
    assert overlap(events, set(names)) == 5


def test_template_mutex_runs_one_at_a_time(run):
    wf = workflow([task(n, SLEEP, template="one") for n in "abc"] + [task("free", SLEEP)],
                  [locked("one", mutexes=("m",)), py_template()])
    result, events = run(wf)
    assert result.phase == "Succeeded"
    assert overlap(events, {"a", "b", "c"}) == 1
    assert overlap(events, {"a", "b", "c", "free"}) == 2  # a task without the mutex is not held back


def test_all_locks_or_none(run):
    # b needs X and Y; while X is taken b must not sit on Y, so c (Y only) starts before b.
    templates = [locked("x", semaphores=("x",)), locked("xy", semaphores=("x", "y")), locked("y", semaphores=("y",))]
    wf = workflow([task("a", SLEEP, template="x"), task("b", SLEEP, template="xy"), task("c", SLEEP, template="y")],
                  templates)
    result, events = run(wf, config_maps={"x": {"slots": "1"}, "y": {"slots": "1"}})
    assert result.phase == "Succeeded"
    assert order(events, "started") == ["a", "c", "b"]


def test_lock_is_held_across_retries_and_backoff(run, tmp_path: Path):
    marker = tmp_path / "failed-once"
    flaky = f"p = {str(marker)!r}\nif not os.path.exists(p):\n    open(p, 'w').close()\n    sys.exit(1)\n"
    retry = {"limit": "2", "retryPolicy": "Always", "backoff": {"duration": "1s"}}
    wf = workflow([task("flaky", flaky, template="retried"), task("other", template="plain")],
                  [locked("retried", mutexes=("m",), retryStrategy=retry), locked("plain", mutexes=("m",))])
    result, events = run(wf, retry_delay_scale=0.2)
    assert result.phase == "Succeeded"
    sequence = [(e.task, e.kind) for e in events.events if e.kind in ("started", "retrying", "succeeded")]
    assert sequence == [
        ("flaky", "started"), ("flaky", "retrying"), ("flaky", "started"), ("flaky", "succeeded"),
        ("other", "started"), ("other", "succeeded"),
    ]


def test_failed_holder_releases_its_lock(run):
    wf = workflow([task("bad", "sys.exit(2)", template="one"), task("next", template="one")], [locked("one", mutexes=("m",))])
    result, events = run(wf)
    assert result.nodes["bad"].phase == "Failed" and result.nodes["next"].phase == "Succeeded"
    assert order(events, "started") == ["bad", "next"]


def test_missing_configmap_errors_the_node_as_argo_does(run):
    wf = workflow([task("a", template="pool"), task("b", depends="a.Failed || a.Errored")],
                  [locked("pool", semaphores=("bridge-pool-api",)), py_template()])
    result, _ = run(wf, config_maps={}, config_maps_source="only sync/x.yaml was applied")
    node = result.nodes["a"]
    assert node.phase == "Error" and node.attempts == []
    assert node.message == (
        "failed to initialize semaphore default/ConfigMap/bridge-pool-api/slots with limit: "
        "ConfigMap 'bridge-pool-api' does not exist (only sync/x.yaml was applied)"
    )
    assert result.nodes["b"].phase == "Succeeded"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({}, "does not exist"),
        ({"runs": {"other": "1"}}, "Sync configuration key 'limit' not found in ConfigMap 'runs'"),
        ({"runs": {"limit": "0"}}, "key 'limit' is '0', not a positive integer"),
        ({"runs": {"limit": "two"}}, "key 'limit' is 'two', not a positive integer"),
    ],
)
def test_workflow_semaphore_without_a_limit_fails_the_run(run, data, problem):
    wf = workflow([task("a")], synchronization={"semaphores": [semaphore("runs", "limit")]})
    result, events = run(wf, config_maps=data)
    assert result.phase == "Failed"
    assert result.message.startswith("Failed to acquire the synchronization lock. failed to initialize semaphore")
    assert problem in result.message
    assert result.nodes == {} and order(events, "started") == []


def test_workflow_level_lock_is_held_by_the_run(run):
    wf = workflow([task("a")], synchronization={"semaphores": [semaphore("runs", "limit")], "mutexes": [{"name": "dag"}]})
    result, _ = run(wf, config_maps={"runs": {"limit": "3"}})
    assert result.phase == "Succeeded"


def test_a_template_waiting_for_the_workflows_own_mutex_errors_instead_of_hanging(run):
    wf = workflow([task("a", template="one"), task("b")], [locked("one", mutexes=("dag",)), py_template()],
                  synchronization={"mutexes": [{"name": "dag"}]})
    result, _ = run(wf)
    assert result.nodes["a"].phase == "Error"
    assert result.nodes["a"].message == "Waiting for default/Mutex/dag lock. Lock status: 0/1 (Argo would wait for this lock forever)"
    assert result.nodes["b"].phase == "Succeeded"
    assert result.phase == "Error"  # assessDAGPhase: an Error leaf


def test_lock_table_rules():
    locks = Locks({"cm": {"k": "1"}}, "ns")
    with pytest.raises(LockError, match="duplicate synchronization item"):
        locks.try_acquire("ns/wf/a", {"mutexes": [{"name": "m"}, {"name": "m"}]})
    with pytest.raises(LockError, match="database"):
        locks.try_acquire("ns/wf/a", {"mutexes": [{"name": "m", "database": True}]})
    assert locks.try_acquire("ns/wf/a", {"semaphores": [semaphore("cm", "k")]}) is None
    assert locks.try_acquire("ns/wf/a", {"semaphores": [semaphore("cm", "k")]}) is None  # already held
    assert locks.try_acquire("ns/wf/b", {"semaphores": [semaphore("cm", "k")]}) is not None
    locks.release("ns/wf/a")
    assert locks.try_acquire("ns/wf/b", {"semaphores": [semaphore("cm", "k")]}) is None
    # A semaphore in another namespace is another lock (same ConfigMap name, other namespace).
    other = {"semaphores": [{"configMapKeyRef": {"name": "cm", "key": "k"}, "namespace": "ns2"}]}
    assert locks.try_acquire("ns/wf/c", other) is None
