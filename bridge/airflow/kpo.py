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
import hashlib
import json
import logging
import re
from typing import Any

from bridge.errors import UnsupportedError

KPO_CLASS = "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator"
DECORATOR_MODULE = "airflow.providers.cncf.kubernetes.decorators"
# Labels the provider adds to find its own pods again; Argo labels its pods itself.
PROVIDER_LABELS = frozenset({"airflow_version", "airflow_kpo_in_cluster", "kubernetes_pod_operator", "already_checked"})
TASK_CALLBACKS = ("on_execute_callback", "on_failure_callback", "on_success_callback", "on_retry_callback", "on_skipped_callback")
# Pod spec fields an Argo template carries itself (camelCase, as in the Argo Template).
TEMPLATE_FIELDS = (
    "nodeSelector",
    "affinity",
    "tolerations",
    "serviceAccountName",
    "securityContext",
    "priorityClassName",
    "schedulerName",
    "hostAliases",
    "volumes",
    "initContainers",
    "activeDeadlineSeconds",
)
# Pod spec fields no template field holds: they travel in the template's podSpecPatch (a strategic merge patch).
PATCH_FIELDS = frozenset(
    {
        "dnsConfig",
        "dnsPolicy",
        "enableServiceLinks",
        "hostIPC",
        "hostNetwork",
        "hostPID",
        "hostUsers",
        "hostname",
        "imagePullSecrets",
        "nodeName",
        "os",
        "overhead",
        "preemptionPolicy",
        "priority",
        "readinessGates",
        "resourceClaims",
        "resources",
        "runtimeClassName",
        "schedulingGates",
        "setHostnameAsFQDN",
        "shareProcessNamespace",
        "subdomain",
        "terminationGracePeriodSeconds",
        "topologySpreadConstraints",
    }
)


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
    if task.skip_on_exit_code:
        return "skip_on_exit_code is not mapped natively yet: it runs through Airflow"
    if task.do_xcom_push:
        return "do_xcom_push=True is not mapped natively yet: it runs through Airflow"
    if task.callbacks:
        return "it has KubernetesPodOperatorCallback callbacks: it runs through Airflow"
    callbacks = [name for name in TASK_CALLBACKS if getattr(task, name, None)]
    if callbacks:
        return f"it has {', '.join(callbacks)}: it runs through Airflow"
    fields = _templated_fields(task)
    if fields:
        return f"its templated fields ({', '.join(fields)}) are rendered per run by Airflow: it runs through Airflow"
    return ""


def _pod_dict(task: Any) -> dict[str, Any]:
    """The provider's own pod for the task, as the API's JSON (camelCase, no nulls)."""
    from kubernetes.client import ApiClient

    op = copy.copy(task)
    # build_pod_request_obj mutates env_vars; the namespace placeholder keeps it from asking the
    # hook (a Kubernetes connection) for one: the Workflow's namespace decides (see translate_pod).
    op.env_vars = copy.deepcopy(task.env_vars)
    if not op.namespace:
        op.namespace = "default"
    quiet = logging.getLogger("bridge.kpo")  # not the operator's "Building pod … with labels"
    quiet.setLevel(logging.WARNING)
    op._log = quiet
    pod = op.build_pod_request_obj(dry_run=True)
    result: dict[str, Any] = ApiClient().sanitize_for_serialization(pod)
    return result


_RANDOM_SECRET_VOLUME = re.compile(r"^secretvol[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def stable_volume_names(pod: dict[str, Any]) -> dict[str, Any]:
    """`pod` with the provider's random Secret volume names (`secretvol<uuid4>`, Secret.to_volume_secret)
    replaced by names derived from the Secret and its mount path, so that split's output is deterministic."""
    spec = pod.get("spec") or {}
    renamed: dict[str, str] = {}
    mounts = {m["name"]: m.get("mountPath", "") for c in spec.get("containers") or [] for m in c.get("volumeMounts") or []}
    for volume in spec.get("volumes") or []:
        if _RANDOM_SECRET_VOLUME.match(volume.get("name", "")):
            key = json.dumps([volume.get("secret"), mounts.get(volume["name"], "")], sort_keys=True)
            renamed[volume["name"]] = f"secretvol-{hashlib.sha256(key.encode()).hexdigest()[:10]}"
            volume["name"] = renamed[volume["name"]]
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        for mount in container.get("volumeMounts") or []:
            mount["name"] = renamed.get(mount["name"], mount["name"])
    return pod


def translate_pod(pod: dict[str, Any], base_container: str, where: str, location: str) -> dict[str, Any]:
    """The Argo template fields of a pod (docs/SEMANTICS.md, "KubernetesPodOperator": what maps)."""

    def refuse(what: str) -> UnsupportedError:
        return UnsupportedError(f"{where}: {what}; bridge cannot carry it into an Argo template", location=location)

    metadata = dict(pod.get("metadata") or {})
    spec = {k: v for k, v in (pod.get("spec") or {}).items() if not (k in SPEC_DEFAULTS and SPEC_DEFAULTS[k] == v)}
    template: dict[str, Any] = {}
    for key in sorted(set(metadata) - {"name", "namespace", "generateName", "labels", "annotations"}):
        raise refuse(f"pod metadata.{key} is set")
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if k not in PROVIDER_LABELS}
    tags = {key: value for key, value in (("labels", labels), ("annotations", metadata.get("annotations"))) if value}
    if tags:
        template["metadata"] = tags
    containers = list(spec.pop("containers", None) or [])
    main = [c for c in containers if c.get("name") == base_container]
    if len(main) != 1:
        raise refuse(f"the pod has no container named {base_container!r} (base_container_name)")
    container = _pruned(main[0])
    container.pop("name")
    template["container"] = container
    sidecars = [_pruned(c) for c in containers if c.get("name") != base_container]
    if sidecars:
        template["sidecars"] = sidecars
    restart = spec.pop("restartPolicy", "Never")
    if restart != "Never":
        raise refuse(f"restartPolicy {restart!r} (an Argo pod never restarts: Never)")
    if spec.get("automountServiceAccountToken") is False:
        raise refuse("automount_service_account_token=False (Argo's executor in the pod needs the token)")
    spec.pop("automountServiceAccountToken", None)
    for key in TEMPLATE_FIELDS:
        if key in spec and spec[key] not in ([], {}):
            template[key] = spec[key]
        spec.pop(key, None)
    # Without its own, the pod would get the Workflow's securityContext (bridge's uid 50000,
    # runAsNonRoot: workflowpod.go addSchedulingConstraints); the provider's pod has none then.
    template.setdefault("securityContext", {})
    patch = {key: spec.pop(key) for key in sorted(set(spec) & PATCH_FIELDS) if spec[key] not in ([], {})}
    spec = {key: value for key, value in spec.items() if value not in ([], {})}
    if patch:
        template["podSpecPatch"] = patch
    for key in sorted(spec):
        raise refuse(f"pod spec.{key} is set")
    return template


# Values the provider writes that are the API server's own defaults: left out (oracle: tests/test_kpo.py).
CONTAINER_DEFAULTS = {"terminationMessagePolicy": "File"}
SPEC_DEFAULTS = {"hostNetwork": False}


def _pruned(container: dict[str, Any]) -> dict[str, Any]:
    """A container without its empty lists and maps (the provider sets `ports: []`, `envFrom: []`) and defaults."""
    return {
        key: value
        for key, value in container.items()
        if value not in ([], {}) and not (key in CONTAINER_DEFAULTS and CONTAINER_DEFAULTS[key] == value)
    }


def native_pod(task: Any, location: str) -> tuple[str, str]:
    """(the Argo template fields as JSON, "") for a native task; ("", why not) for one that stays in Airflow."""
    reason = stays_in_airflow(task)
    if reason:
        return "", reason
    where = f"task {task.task_id!r} ({type(task).__name__})"
    if task.pod_template_file and not _readable(task.pod_template_file):
        raise UnsupportedError(f"{where}: pod_template_file {task.pod_template_file!r} cannot be read here", location=location)
    template = translate_pod(stable_volume_names(_pod_dict(task)), task.base_container_name, where, location)
    note = ""
    if task.namespace:
        note = f"its namespace {task.namespace!r} is not used: Argo runs every pod in the Workflow's namespace"
    if task.name:
        note = "; ".join(filter(None, [note, f"pod name {task.name!r}: Argo names its pods"]))
    return json.dumps(template, sort_keys=True), note


def _readable(path: str) -> bool:
    try:
        with open(path, encoding="utf-8"):
            return True
    except OSError:
        return False
