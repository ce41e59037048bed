"""KubernetesPodOperator tasks as native Argo pods: the pod the cncf provider builds, as template fields.

A KubernetesPodOperator task (the provider's class or a subclass targeting the same cluster) needs
no Airflow in its pod: bridge asks the provider itself for the pod (`build_pod_request_obj`, from
every argument, `pod_template_file`, `pod_template_dict` and `full_pod_spec` included) and carries
that pod into the task's Argo container template (`native_pod`). What the translation cannot carry
is a located split error. A task that needs Airflow at run time keeps running through Airflow (its
pod starts bridge-task, and the operator creates the pod), and `native_pod` says why in one line
(docs/SEMANTICS.md, "KubernetesPodOperator").
"""

from __future__ import annotations

import copy
import json
from typing import Any

from bridge.errors import UnsupportedError
from bridge.podspec import metadata_entries, metadata_input, provider_pod, stable_volume_names, translate_pod

DECORATOR_MODULE = "airflow.providers.cncf.kubernetes.decorators"
# Templated fields a run's render step carries into the pod (bridge.runtime.podrender: its podSpecPatch
# and image); a template in any other (labels, annotations, the pod template) keeps the task in Airflow.
RENDERED_FIELDS = frozenset(
    {"image", "cmds", "arguments", "env_vars", "container_resources", "volumes", "volume_mounts", "env_from",
     "configmaps", "node_selector", "hostname", "name", "namespace", "trigger_kwargs", "labels", "annotations"}
)
# Pod metadata: each templated value is one input of the pod's template (bridge.podspec.METADATA_DIR).
METADATA_FIELDS = ("labels", "annotations")
# A templated image: the render step's `image` output, passed to the pod's template as this input.
IMAGE_INPUT = "{{inputs.parameters.image}}"
# Callbacks of the task's final state: a `callbacks` step after the pod replays its outcome through
# Airflow (bridge.runtime.podoutcome). The others fire at the start and after each failed try,
# which only the operator's own run can do: such a task runs through Airflow.
FINAL_CALLBACKS = ("on_failure_callback", "on_success_callback", "on_skipped_callback")
TRY_CALLBACKS = ("on_execute_callback", "on_retry_callback")


def _kpo_class() -> type | None:
    try:
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    except ImportError:
        return None
    return KubernetesPodOperator


def is_kpo(task: Any) -> bool:
    """The task is a KubernetesPodOperator (or a subclass); the provider may not be installed."""
    cls = _kpo_class()
    return cls is not None and isinstance(task, cls)


def _templated(value: Any, seen: set[int]) -> bool:
    """Whether Airflow's rendering could change `value`: Jinja in a string, an XComArg, at any depth."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value or "{#" in value
    if id(value) in seen or value is None or isinstance(value, (int, float, bool)):
        return False
    seen.add(id(value))
    if type(value).__name__.endswith("XComArg"):
        return True
    if isinstance(value, dict):
        return any(_templated(k, seen) or _templated(v, seen) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_templated(item, seen) for item in value)
    attributes = getattr(value, "attribute_map", None) or getattr(value, "__dict__", None)
    if isinstance(attributes, dict):
        return any(_templated(getattr(value, name, None), seen) for name in attributes)
    return False


def _templated_fields(task: Any) -> list[str]:
    exts = tuple(getattr(task, "template_ext", ()) or ())
    found = []
    for name in task.template_fields:
        value = getattr(task, name, None)
        if _templated(value, set()) or (exts and isinstance(value, str) and value.endswith(exts)):
            found.append(name)
    return found


def _other_cluster(task: Any, kpo: type) -> str:
    """Why the task's pod would run on another cluster than the Workflow's, "" when it would not."""
    if type(task).hook is not kpo.hook:  # type: ignore[attr-defined]
        return f"{type(task).__name__} connects to its own cluster"
    if task.config_file or task.cluster_context:
        return "it names a kube config file or context"
    if task.in_cluster is False:
        return "in_cluster=False"
    if task.kubernetes_conn_id not in (None, "kubernetes_default"):
        return f"it names the connection {task.kubernetes_conn_id!r}"
    return ""


def stays_in_airflow(task: Any) -> str:
    """Why this KubernetesPodOperator task must run through Airflow (its operator creates the pod), "" when native."""
    kpo = _kpo_class()
    assert kpo is not None
    other = _other_cluster(task, kpo)
    if other:
        return f"its pod runs on another cluster ({other}): it runs through Airflow, as before"
    if type(task).__module__.startswith(DECORATOR_MODULE):
        return "@task.kubernetes runs Python code of the DAG: it runs through Airflow"
    for method in ("execute", "execute_sync", "pre_execute", "post_execute"):
        if getattr(type(task), method) is not getattr(kpo, method):
            return f"{type(task).__name__} overrides {method}(): it runs through Airflow"
    if getattr(task, "pre_execute_hook", None) or getattr(task, "post_execute_hook", None):
        return "it has a pre- or post-execute hook: it runs through Airflow"
    if task.callbacks:
        return "it has KubernetesPodOperatorCallback callbacks: it runs through Airflow"
    callbacks = [name for name in TRY_CALLBACKS if getattr(task, name, None)]
    if callbacks:
        return f"it has {', '.join(callbacks)} (only the operator's own run can fire it): it runs through Airflow"
    for name in METADATA_FIELDS:
        if any(_templated(key, set()) for key in (getattr(task, name, None) or {})):
            return f"templated keys in {name}: it runs through Airflow"
    fields = [name for name in _templated_fields(task) if name not in RENDERED_FIELDS]
    if fields:
        return f"templates in {', '.join(fields)} are not rendered into a native pod yet: it runs through Airflow"
    return ""


def metadata_inputs(task: Any) -> tuple[int, ...]:
    """The metadata entries (bridge.podspec.metadata_entries) whose values each run renders."""
    entries = metadata_entries(getattr(task, "labels", None), getattr(task, "annotations", None))
    return tuple(i for i, (_, _, value) in enumerate(entries) if _templated(value, set()))


def has_final_callbacks(task: Any) -> bool:
    """The task has a callback of its final state (a native pod then gets a `callbacks` step)."""
    return any(getattr(task, name, None) for name in FINAL_CALLBACKS)


def skip_codes(task: Any, location: str = "") -> tuple[int, ...]:
    """The task's skip_on_exit_code as sorted ints (the provider keeps an int, a list or any
    Container; a Container that is not iterable is a split error: Argo needs the codes listed)."""
    codes = task.skip_on_exit_code
    if not codes:
        return ()
    try:
        found = sorted({int(code) for code in codes})
    except (TypeError, ValueError):
        raise UnsupportedError(
            f"task {task.task_id!r}: skip_on_exit_code {codes!r} is no list of exit codes", location=location
        ) from None
    return tuple(found)


def _pod_dict(task: Any, rendered: list[str]) -> dict[str, Any]:
    """The provider's own pod for the task without the `rendered` fields (templated: each run's
    render step gives them), but for a templated image's input parameter."""
    op = copy.copy(task)
    templated = set(metadata_inputs(task))
    entries = metadata_entries(task.labels, task.annotations)
    for name in METADATA_FIELDS:  # a templated value: its input; the others as they are
        values = {key: f"{{{{inputs.parameters.{metadata_input(i)}}}}}" if i in templated else value
                  for i, (field, key, value) in enumerate(entries) if field == name}
        setattr(op, name, values)
    for name in rendered:
        if name in METADATA_FIELDS:
            continue
        value = getattr(op, name)
        setattr(op, name, IMAGE_INPUT if name == "image" else [] if isinstance(value, (list, tuple)) else None)
    if "volumes" in rendered or "volume_mounts" in rendered:
        op.volumes, op.volume_mounts = [], []
    return provider_pod(op)


def native_pod(task: Any, location: str) -> tuple[str, str, tuple[str, ...]]:
    """(the Argo template fields as JSON, a note, the fields each run renders) for a native task;
    ("", why not, ()) for one that stays in Airflow."""
    reason = stays_in_airflow(task)
    if reason:
        return "", reason, ()
    rendered = _templated_fields(task)
    where = f"task {task.task_id!r} ({type(task).__name__})"
    if task.pod_template_file and not _readable(task.pod_template_file):
        raise UnsupportedError(f"{where}: pod_template_file {task.pod_template_file!r} cannot be read here", location=location)
    template = translate_pod(stable_volume_names(_pod_dict(task, rendered)), task.base_container_name, where, location)
    note = ""
    if task.namespace:
        note = f"its namespace {task.namespace!r} is not used: Argo runs every pod in the Workflow's namespace"
    if task.name:
        note = "; ".join(filter(None, [note, f"pod name {task.name!r}: Argo names its pods"]))
    return json.dumps(template, sort_keys=True), note, tuple(rendered)


def _readable(path: str) -> bool:
    try:
        with open(path, encoding="utf-8"):
            return True
    except OSError:
        return False
