"""A Kubernetes pod (the API's JSON) as the fields of an Argo container template. Pure: dicts in, dicts
out (but `provider_pod`, which asks the cncf provider installed beside Airflow for the pod).

Used at split time for a KubernetesPodOperator's pod (bridge.airflow.kpo) and in the image for
the same pod rendered for one run (bridge.runtime.podrender). Where each field lands follows Argo
v4.0.10 workflow/controller/workflowpod.go (docs/SEMANTICS.md, "KubernetesPodOperator").
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from bridge.errors import UnsupportedError

# Argo's name of a template's main container.
MAIN_CONTAINER = "main"
# The provider's do_xcom_push convention (PodDefaults): the container writes this file, and a
# sidecar of this name lets the operator read it. On Argo the executor reads the file itself (an
# output parameter), so the sidecar is left out and the emptyDir volume kept.
XCOM_SIDECAR = "airflow-xcom-sidecar"
XCOM_FILE = "/airflow/xcom/return.json"
# Labels the provider adds to find its own pods again; Argo labels its pods itself.
PROVIDER_LABELS = frozenset({"airflow_version", "airflow_kpo_in_cluster", "kubernetes_pod_operator", "already_checked"})
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


# Values the provider writes that are the API server's own defaults: left out (oracle: tests/test_kpo.py).
CONTAINER_DEFAULTS = {"terminationMessagePolicy": "File"}
SPEC_DEFAULTS = {"hostNetwork": False}


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
    container = pruned(main[0])
    container.pop("name")
    template["container"] = container
    sidecars = [pruned(c) for c in containers if c.get("name") not in (base_container, XCOM_SIDECAR)]
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


def pruned(container: dict[str, Any]) -> dict[str, Any]:
    """A container without its empty lists and maps (the provider sets `ports: []`, `envFrom: []`) and defaults."""
    return {
        key: value
        for key, value in container.items()
        if value not in ([], {}) and not (key in CONTAINER_DEFAULTS and CONTAINER_DEFAULTS[key] == value)
    }




class _NoCluster:
    """The operator's `hook` while bridge asks it for its pod: no Kubernetes connection or config is
    read (the provider asks its hook for the namespace, the XCom sidecar's image and resources, and,
    before provider 10.x's dry_run, whether it runs in a cluster). What it answers is left out of
    the template anyway: the namespace is the Workflow's, the sidecar is Argo's executor."""

    is_in_cluster = True

    def get_namespace(self) -> str:
        return "default"

    def get_xcom_sidecar_container_image(self) -> None:
        return None

    def get_xcom_sidecar_container_resources(self) -> None:
        return None

    def get_xcom_sidecar_container_security_context(self) -> None:
        return None


def provider_pod(task: Any, context: Any = None) -> dict[str, Any]:
    """The pod the cncf provider's own `build_pod_request_obj` builds for the (rendered) operator
    `task`, as the API's JSON (camelCase, no nulls). `task` is not changed."""
    import copy
    import inspect
    import logging

    from kubernetes.client import ApiClient

    op = copy.copy(task)
    op.env_vars = copy.deepcopy(op.env_vars)  # build_pod_request_obj converts them in place
    op.__dict__["hook"] = _NoCluster()  # a cached_property on the provider's class
    quiet = logging.getLogger("bridge.kpo")  # not the operator's "Building pod … with labels"
    quiet.setLevel(logging.WARNING)
    op._log = quiet
    dry_run = "dry_run" in inspect.signature(op.build_pod_request_obj).parameters
    pod = op.build_pod_request_obj(context, dry_run=True) if dry_run else op.build_pod_request_obj(context)
    result: dict[str, Any] = ApiClient().sanitize_for_serialization(pod)
    return result


# A templated label or annotation value: the render step writes each value of the task's own
# labels, then annotations (`metadata_entries` order) to METADATA_DIR/<i> under its outputs; the
# pod's template reads value i as the input `m<i>` (pod metadata cannot be patched: podSpecPatch
# is the spec's).
METADATA_DIR = "metadata"


def metadata_entries(labels: Any, annotations: Any) -> list[tuple[str, str, Any]]:
    """(field, key, value) of a task's own labels, then annotations, each sorted by key."""
    return [
        (field, str(key), value)
        for field, found in (("labels", labels), ("annotations", annotations))
        for key, value in sorted((found or {}).items(), key=lambda item: str(item[0]))
    ]


def metadata_input(index: int) -> str:
    """The pod template's input holding the rendered value of metadata entry `index`."""
    return f"m{index}"


def pod_patch(template: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of translated template fields as one strategic merge patch (a run's rendered pod:
    Argo merges it into the pod before it wraps the main command, workflowpod.go, 3.6 to 4.1)."""
    patch: dict[str, Any] = dict(template.get("podSpecPatch") or {})
    patch["containers"] = [{"name": MAIN_CONTAINER, **template["container"]}, *template.get("sidecars", [])]
    for key in TEMPLATE_FIELDS:
        if key in template and key != "activeDeadlineSeconds":
            patch[key] = template[key]
    return patch
