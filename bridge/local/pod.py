"""A pod from a processed container template, and its output parameters afterwards. Pure.

Mirrors Argo v4.1.2 workflow/controller/workflowpod.go (the main container, its env and
activeDeadlineSeconds) and workflow/executor/executor.go (SaveParameters).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bridge.local.launcher import LOCAL_FILE_VARIABLES, PodSpec
from bridge.local.spec import WorkflowError, as_string, int_or_string, parse_duration


def pod_name(task: str, number: int) -> str:
    """Argo's retry child names: `task` for the first attempt, `task(1)`, `task(2)` … after it."""
    return task if number == 1 else f"{task}({number - 1})"


def pod_spec(
    task: str,
    template: Mapping[str, Any],
    number: int,
    *,
    workflow_name: str,
    namespace: str,
    local_env: Mapping[str, str],
    volumes: Sequence[Mapping[str, Any]] = (),
    objects_dir: str | None = None,
) -> PodSpec:
    """The main container of attempt `number` (1-based) of `task`, in container paths.

    `volumes` are the Workflow's `spec.volumes`; `objects_dir` stands for the namespace's Secrets
    and ConfigMaps (`<objects_dir>/<name>/<key>` files), which envFrom, secretKeyRef and Secret or
    ConfigMap volumes read.
    """
    container = patched_container(template)
    command = [str(part) for part in container.get("command") or []]
    args = [str(part) for part in container.get("args") or []]
    if not command:
        raise WorkflowError(
            f"template {template.get('name')!r} has no container.command; bridge run cannot know the image's entrypoint"
        )
    files: dict[str, str] = {}
    for art in ((template.get("inputs") or {}).get("artifacts")) or []:
        raw = art.get("raw")
        if raw is not None:
            files[str(art["path"])] = str(raw.get("data") or "")
        elif not art.get("optional"):
            raise WorkflowError(f"inputs.artifacts.{art['name']}: only raw artifacts are supported by bridge run")
    outputs = tuple(
        str(p["valueFrom"]["path"])
        for p in ((template.get("outputs") or {}).get("parameters")) or []
        if (p.get("valueFrom") or {}).get("path")
    )
    env = container_env(task, container, workflow_name=workflow_name, namespace=namespace, local_env=local_env,
                        objects_dir=objects_dir, metadata=template.get("metadata"))
    # workflowpod.go: Argo appends these to every container of the pod, after the template's own env.
    env.update({"ARGO_CONTAINER_NAME": "main", "ARGO_NODE_ID": f"{workflow_name}-{pod_name(task, number)}",
                "ARGO_WORKFLOW_NAME": workflow_name})
    return PodSpec(
        name=pod_name(task, number),
        command=tuple(command),
        args=tuple(args),
        env=env,
        mounts=object_mounts(task, container, [*(template.get("volumes") or []), *volumes], objects_dir),
        files=files,
        outputs=outputs,
        workdir=container.get("workingDir"),
        image=container.get("image"),
        empty_dirs=empty_dirs(container, [*(template.get("volumes") or []), *volumes]),
    )


def empty_dirs(container: Mapping[str, Any], volumes: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The container's mount paths of emptyDir volumes (the template's and the Workflow's), but /tmp
    (bridge's scratch volume, which every launcher gives each attempt already)."""
    by_name = {str(volume.get("name")): volume for volume in volumes}
    paths = [
        str(mount["mountPath"])
        for mount in container.get("volumeMounts") or []
        if "emptyDir" in by_name.get(str(mount.get("name")), {}) and str(mount["mountPath"]).rstrip("/") != "/tmp"
    ]
    return tuple(paths)


# Lists of a container that a strategic merge patch merges by a key (Kubernetes' patchMergeKey).
_MERGE_KEYS = {"env": "name", "volumeMounts": "mountPath", "ports": "containerPort", "envFrom": ""}


def patched_container(template: Mapping[str, Any]) -> dict[str, Any]:
    """The main container after the template's podSpecPatch (util.ApplyPodSpecPatch: a strategic merge
    of the pod spec, applied before the command is wrapped, workflowpod.go). Only the main
    container's entry of `containers` matters to bridge run: the patch of a rendered native pod."""
    container = dict(template.get("container") or {})
    text = template.get("podSpecPatch")
    if not text:
        return container
    try:
        patch = json.loads(str(text))
    except ValueError as exc:
        raise WorkflowError(f"template {template.get('name')!r}: podSpecPatch is not JSON: {exc}") from None
    for entry in patch.get("containers") or []:
        if entry.get("name") != "main":
            continue
        for key, value in entry.items():
            merge_key = _MERGE_KEYS.get(key)
            if key == "name":
                continue
            if merge_key and isinstance(container.get(key), list):
                keep = [item for item in container[key] if item.get(merge_key) not in {v.get(merge_key) for v in value}]
                container[key] = keep + list(value)
            else:
                container[key] = value
    return container


# Kubernetes' rule for a variable name taken from a Secret's or ConfigMap's key (others are skipped).
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
# The downward API's fieldPath of one label or annotation: metadata.labels['k'] (or "k").
_METADATA_FIELD = re.compile(r"metadata\.(labels|annotations)\[(?:'([^']*)'|\"([^\"]*)\")\]")


def object_data(objects_dir: str | None, name: str) -> dict[str, str] | None:
    """The keys of the stand-in for Secret or ConfigMap `name`: the files of `<objects_dir>/<name>/`, None when absent.

    Like a Secret volume on a node, one file per key, its whole content the value (a trailing
    newline included, as `kubectl create secret --from-file` keeps it); hidden files are not keys.
    """
    folder = os.path.join(objects_dir, name) if objects_dir else ""
    if not folder or not os.path.isdir(folder):
        return None
    data = {}
    for key in sorted(os.listdir(folder)):
        path = os.path.join(folder, key)
        if not key.startswith(".") and os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as handle:
                data[key] = handle.read()
    return data


def _no_stand_in(task: str, what: str, name: str, objects_dir: str | None) -> WorkflowError:
    where = f"{objects_dir}/{name}/" if objects_dir else f"DIR/{name}/ and pass bridge run --secrets-dir DIR"
    return WorkflowError(
        f"task {task!r}: {what} does not exist here; put one file per key of {name!r} in {where} (docs/LOCAL.md)"
    )


def env_from(task: str, container: Mapping[str, Any], objects_dir: str | None) -> dict[str, str]:
    """`envFrom`: every key of each stand-in, in order (a later source wins a key); absent + optional -> nothing.

    An optional source without a stand-in (bridge-variables) adds nothing: the host engine's
    processes inherit this machine's environment, where a developer keeps AIRFLOW_VAR_* values.
    """
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        ref = source.get("secretRef") or source.get("configMapRef")
        if ref is None:
            continue
        kind = "Secret" if "secretRef" in source else "ConfigMap"
        data = object_data(objects_dir, str(ref.get("name")))
        if data is None:
            if ref.get("optional"):
                continue
            raise _no_stand_in(task, f"the {kind} {ref.get('name')!r} of envFrom", str(ref.get("name")), objects_dir)
        prefix = str(source.get("prefix") or "")
        env.update({prefix + key: value for key, value in data.items() if _ENV_NAME.match(prefix + key)})
    return env


def object_mounts(
    task: str, container: Mapping[str, Any], volumes: Sequence[Mapping[str, Any]], objects_dir: str | None
) -> dict[str, str]:
    """Container path -> stand-in folder for each Secret or ConfigMap volume the container mounts (read-only).

    A Secret that does not exist keeps a pod from starting on Kubernetes (ContainerCreating), so a
    missing stand-in is an Error here, unless the volume is optional. Other volumes are not mounted.
    """
    by_name = {str(volume.get("name")): volume for volume in volumes}
    mounts: dict[str, str] = {}
    for mount in container.get("volumeMounts") or []:
        volume = by_name.get(str(mount.get("name"))) or {}
        source = volume.get("secret") or volume.get("configMap")
        if source is None:
            continue
        name = str(source.get("secretName") or source.get("name"))
        if object_data(objects_dir, name) is None:
            if source.get("optional"):
                continue
            kind = "Secret" if "secret" in volume else "ConfigMap"
            what = f"the {kind} {name!r} mounted at {mount.get('mountPath')}"
            raise _no_stand_in(task, what, name, objects_dir)
        mounts[str(mount["mountPath"])] = os.path.join(str(objects_dir), name)
    return mounts


def container_env(
    task: str,
    container: Mapping[str, Any],
    *,
    workflow_name: str,
    namespace: str,
    local_env: Mapping[str, str],
    objects_dir: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """`envFrom`, then `env` over it (Kubernetes' precedence); secretKeyRef/configMapKeyRef read the stand-in's
    key (`objects_dir`), else `local_env`'s variable of the same name; the downward API's
    `metadata.labels['k']`/`metadata.annotations['k']` read the template's `metadata` (the pod's
    own labels and annotations; Argo's are not emulated).
    """
    env: dict[str, str] = env_from(task, container, objects_dir)
    for item in container.get("env") or []:
        key = item["name"]
        if "value" in item and item.get("valueFrom") is None:
            env[key] = as_string(item.get("value")) or ""
            if key in LOCAL_FILE_VARIABLES and key in local_env:
                env[key] = local_env[key]  # the file a mounted Secret holds, on this machine
            continue
        source = item.get("valueFrom") or {}
        ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
        if ref is not None:
            data = object_data(objects_dir, str(ref.get("name"))) or {}
            if str(ref.get("key")) in data:
                env[key] = data[str(ref.get("key"))]
            elif key in local_env:
                env[key] = local_env[key]
            elif not ref.get("optional"):
                kind = "secret" if "secretKeyRef" in source else "config map"
                raise WorkflowError(
                    f"task {task!r}: env {key} comes from {kind} {ref.get('name')!r} key {ref.get('key')!r}; "
                    f"set {key} in this environment to run it locally"
                )
            continue
        field_ref = (source.get("fieldRef") or {}).get("fieldPath")
        tagged = _METADATA_FIELD.fullmatch(str(field_ref or ""))
        if tagged:
            values = (metadata or {}).get(tagged.group(1)) or {}
            wanted = tagged.group(2) if tagged.group(2) is not None else tagged.group(3)
            if wanted in values:
                env[key] = str(values[wanted])
        elif field_ref == "metadata.name":
            env[key] = f"{workflow_name}-{task}"
        elif field_ref == "metadata.namespace":
            env[key] = namespace
        elif key in local_env:
            env[key] = local_env[key]
    return env


def pod_deadline(template: Mapping[str, Any], now: float, workflow_deadline: float | None) -> float | None:
    """workflowpod.go: activeDeadlineSeconds = min(template's, template timeout, workflow time left)."""
    limits = []
    ads = int_or_string(template.get("activeDeadlineSeconds"), f"templates.{template.get('name')}.activeDeadlineSeconds")
    if ads is not None:
        limits.append(now + ads)
    if template.get("timeout"):
        limits.append(now + parse_duration(template["timeout"]))
    if workflow_deadline is not None:
        limits.append(workflow_deadline)
    return min(limits) if limits else None


def output_parameters(
    template: Mapping[str, Any], files: Mapping[str, bytes | None]
) -> tuple[dict[str, str | None], str]:
    """executor.go SaveParameters: file text, else valueFrom.default; one trailing newline trimmed.

    Returns the values and, when a file is missing without a default, the message of that Error.
    """
    values: dict[str, str | None] = {}
    missing = ""
    for param in ((template.get("outputs") or {}).get("parameters")) or []:
        source = param.get("valueFrom") or {}
        path = source.get("path")
        if not path:
            values[param["name"]] = as_string(source.get("default"))
            continue
        data = files.get(str(path))
        if data is not None:
            text: str | None = data.decode("utf-8", errors="replace")
        else:
            text = as_string(source.get("default"))
            if text is None and not missing:
                missing = f"output parameter {param['name']!r}: open {path}: no such file or directory"
        values[param["name"]] = None if text is None else (text[:-1] if text.endswith("\n") else text)
    return values, missing


def suspend_outputs(template: Mapping[str, Any]) -> dict[str, str | None]:
    """A resumed suspend node's output parameters: their valueFrom.default (no `argo resume` locally)."""
    return {
        param["name"]: as_string((param.get("valueFrom") or {}).get("default"))
        for param in ((template.get("outputs") or {}).get("parameters")) or []
    }
