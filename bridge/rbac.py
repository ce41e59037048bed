"""What a DAG's task pods ask the Kubernetes API, as Role rules: one place for split's notes, the
emitted Role (bridge.emit.rbac) and the runtime's errors. Pure.

Each need is what the runtime's calls do, read in its code: an ExternalTaskSensor lists the other
DAG's Workflows (bridge.runtime.external); a TriggerDagRunOperator reads the other DAG's
WorkflowTemplate, creates its run's Workflow, reads it while waiting and deletes it to rerun it
(reset_dag_run: bridge.runtime.trigger); a KubernetesPodOperator that keeps Airflow creates,
watches, reads the logs of and deletes its pod (the cncf provider's PodManager, 10.25.0).
"""

from __future__ import annotations

from collections.abc import Iterable

Rule = tuple[str, str, tuple[str, ...]]  # (API group, resource, verbs)

SENSOR: tuple[Rule, ...] = (("argoproj.io", "workflows", ("get", "list")),)
TRIGGER: tuple[Rule, ...] = (
    ("argoproj.io", "workflows", ("create", "get", "delete")),
    ("argoproj.io", "workflowtemplates", ("get",)),
)
POD_IN_POD: tuple[Rule, ...] = (
    ("", "pods", ("create", "get", "list", "delete", "patch")),
    ("", "pods/log", ("get",)),
    ("", "pods/exec", ("create", "get")),
    ("", "events", ("list",)),
)
_VERB_ORDER = ("create", "get", "list", "watch", "update", "patch", "delete")


def merged(*needs: Iterable[Rule]) -> tuple[Rule, ...]:
    """The rules of several needs, one per (group, resource), verbs united, in a fixed order."""
    verbs: dict[tuple[str, str], set[str]] = {}
    for need in needs:
        for group, resource, granted in need:
            verbs.setdefault((group, resource), set()).update(granted)
    return tuple((group, resource, tuple(v for v in _VERB_ORDER if v in found))
                 for (group, resource), found in verbs.items())


def describe(rules: Iterable[Rule]) -> str:
    """Rules as one readable line: `workflows.argoproj.io: get, list; pods: create`."""
    return "; ".join(f"{resource}{'.' + group if group else ''}: {', '.join(verbs)}" for group, resource, verbs in rules)
