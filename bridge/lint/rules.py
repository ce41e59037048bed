"""Argo's own rules that its schema does not express (workflow/validate/validate.go, Kubernetes names).

Names and lengths, unique names, `depends`/`dependencies` targets, cycles, `{{…}}` references,
parameter names, `when` syntax, the object size. Pure functions over a parsed document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from bridge.argo.expr import GUARDED_OUTPUT, guarded_variable
from bridge.lint.findings import ERROR, WARNING, Problem, index, join

OBJECT_MAX_BYTES = 1024 * 1024  # etcd's request limit for one object, as Argo stores it
OBJECT_WARN_BYTES = 768 * 1024  # above this, the node statuses Argo adds as it runs may not fit
WORKFLOW_NAME_MAX = 63  # Argo: the name is also a label value
CRON_NAME_MAX = 52  # Argo: CronWorkflow names get a 10-digit timestamp suffix
GENERATE_NAME_MAX = 58  # Kubernetes cuts a longer generateName to 58 before adding 5 characters
OBJECT_NAME_MAX = 253
FIELD_NAME_MAX = 128  # template and task names
ANNOTATIONS_MAX_BYTES = 256 * 1024
CONFIGMAP_DATA_MAX_BYTES = 1024 * 1024  # the API server: data plus binaryData values, bytes (core.MaxSecretSize)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"  # where client-side `kubectl apply` copies the object

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_FIELD_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")  # isValidWorkflowFieldName
_PARAM_NAME = re.compile(r"^[-a-zA-Z0-9_]+$")  # isValidParamOrArtifactName
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")  # IsConfigMapKey
_REFERENCE = re.compile(r"\{\{(.*?)\}\}", re.S)
_TASK_REF = re.compile(r"^tasks\.([^.]+)\.(.+)$")
_STEP_REF = re.compile(r"^steps\.([^.]+)\.(.+)$")

_WORKFLOW_GLOBALS = frozenset({
    "workflow.name", "workflow.namespace", "workflow.uid", "workflow.serviceAccountName",
    "workflow.mainEntrypoint", "workflow.priority", "workflow.duration", "workflow.creationTimestamp",
    "workflow.parameters", "workflow.annotations", "workflow.labels", "workflow.status", "workflow.failures",
    "workflow.annotations.json", "workflow.labels.json", "workflow.parameters.json",
})
_TEMPLATE_LOCALS = frozenset({"pod.name", "node.name", "tasks.name", "steps.name", "inputs.parameters", "inputs.parameters.json"})
_TASK_FIELDS = frozenset({"status", "id", "startedAt", "finishedAt", "hostNodeName", "exitCode", "outputs.result", "ip"})
_RETRY_POLICIES = ("Always", "OnFailure", "OnError", "OnTransientError")
ARGO_WORKFLOW_KINDS = frozenset({"Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow"})


def check_argo_rules(document: dict[str, Any]) -> list[Problem]:
    """Every violation of Argo's validation rules in one Argo document."""
    kind = document.get("kind")
    problems = list(check_metadata(document))
    if kind not in ARGO_WORKFLOW_KINDS:
        return problems
    spec = document.get("spec")
    spec_path = "spec"
    if kind == "CronWorkflow":
        spec = spec.get("workflowSpec") if isinstance(spec, dict) else None
        spec_path = "spec.workflowSpec"
    if isinstance(spec, dict):
        problems += list(_check_spec(document, spec, spec_path))
    problems += list(check_size(document))
    return problems


def stored_size(document: Any) -> int:
    """Bytes of `document` as Go's json.Marshal writes it: Argo's workflow/packer (getSize) compares
    that with its 1 MiB limit, and Kubernetes stores custom resources with Go's encoder too.

    Compact JSON, UTF-8, with Go's HTML escaping: `&`, `<`, `>` become `\u0026` … (6 bytes, so
    every `&&` in a `depends` costs 12), U+2028 and U+2029 become `\u2028`/`\u2029`.
    """
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str)
    escaped = 5 * (text.count("&") + text.count("<") + text.count(">")) + 3 * (text.count("\u2028") + text.count("\u2029"))
    return len(text.encode("utf-8")) + escaped


def check_size(document: dict[str, Any]) -> Iterator[Problem]:
    """The object as Argo stores it (compact JSON) must fit etcd's 1 MiB, with room for status."""
    size = stored_size(document)
    if size > OBJECT_MAX_BYTES:
        yield Problem(
            "", f"the object is {size} bytes as Argo stores it (compact JSON), over Kubernetes' 1 MiB limit",
            "split the DAG (several Workflows, or WorkflowTemplates referenced with templateRef) or shorten it",
            rule="object-size",
        )
    elif document.get("kind") in ("Workflow", "WorkflowTemplate", "CronWorkflow"):
        yield from _check_status_size(document, size)
    elif size > OBJECT_WARN_BYTES:
        yield Problem(
            "", f"the object is {size} bytes as Argo stores it; the status Argo adds for every node may push it "
            "over Kubernetes' 1 MiB limit",
            "enable Argo's node status offloading, or split the DAG", severity=WARNING, rule="object-size",
        )


def _check_status_size(document: dict[str, Any], size: int) -> Iterator[Problem]:
    """A run's Workflow holds the spec (a WorkflowTemplate's too, as status.storedWorkflowTemplateSpec)
    and a node status per node; Argo compresses those above 1 MiB and needs them offloaded when even
    that does not fit (bridge/argo/status.py). Estimated from a run where every task succeeds once."""
    from bridge.argo.status import MAX_WORKFLOW_SIZE, OFFLOAD_SETTING, status_bytes, typical_nodes

    spec = document.get("spec")
    if document.get("kind") == "CronWorkflow" and isinstance(spec, dict):
        spec = spec.get("workflowSpec")
    if not isinstance(spec, dict):
        return
    nodes = typical_nodes(spec)
    plain, compressed = status_bytes(nodes, compress_above=MAX_WORKFLOW_SIZE - size)  # fits uncompressed: no gzip
    if size + compressed > MAX_WORKFLOW_SIZE:
        yield Problem(
            "", f"a run of it stores about {plain} bytes of node status ({len(nodes)} nodes, {compressed} bytes "
            f"compressed) beside its {size} bytes: over Argo's 1 MiB even compressed, so the run fails "
            "('workflow is longer than maximum allowed size') unless Argo offloads node status",
            f"set {OFFLOAD_SETTING}, or split the DAG", severity=WARNING, rule="status-size",
        )


def check_metadata(document: dict[str, Any]) -> Iterator[Problem]:
    """Kubernetes name, namespace, label and annotation rules (Argo adds its own name lengths)."""
    kind = document.get("kind")
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        yield Problem("metadata", "is missing", "add metadata with a name", rule="k8s-name")
        return
    name, generate = metadata.get("name"), metadata.get("generateName")
    if name is None and generate is None:
        yield Problem("metadata.name", "is missing (and no generateName)", "add a name", rule="k8s-name")
    limit = {"Workflow": WORKFLOW_NAME_MAX, "CronWorkflow": CRON_NAME_MAX}.get(str(kind), OBJECT_NAME_MAX)
    if isinstance(name, str):
        yield from _name_format("metadata.name", name, limit, _DNS_SUBDOMAIN)
    if isinstance(generate, str):
        yield from _name_format("metadata.generateName", generate + "a", GENERATE_NAME_MAX + 1, _DNS_SUBDOMAIN,
                                shown=generate)
    namespace = metadata.get("namespace")
    if isinstance(namespace, str):
        yield from _name_format("metadata.namespace", namespace, 63, _DNS_LABEL)
    for field in ("labels", "annotations"):
        entries = metadata.get(field) or {}
        if not isinstance(entries, dict):
            continue
        for key, value in entries.items():
            yield from _qualified_key(join(f"metadata.{field}", str(key)), str(key))
            if field == "labels" and value is not None:
                text = str(value)
                if len(text) > 63 or (text and not _QUALIFIED_NAME.match(text)):
                    yield Problem(
                        join("metadata.labels", str(key)), f"label value {text!r} is not a valid label value",
                        "use at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric",
                        rule="k8s-label",
                    )
    annotations = metadata.get("annotations") or {}
    if isinstance(annotations, dict):
        total = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in annotations.items())
        if total > ANNOTATIONS_MAX_BYTES:
            yield Problem("metadata.annotations", f"total {total} bytes, over Kubernetes' 256 KiB",
                          "shorten the annotations", rule="k8s-annotations")


def check_configmap_keys(document: dict[str, Any]) -> Iterator[Problem]:
    """ConfigMap data keys (IsConfigMapKey): the API server refuses others; the schema does not say."""
    if document.get("kind") != "ConfigMap":
        return
    for field in ("data", "binaryData"):
        entries = document.get(field)
        for key in entries if isinstance(entries, dict) else {}:
            if not _CONFIGMAP_KEY.match(str(key)) or str(key) in (".", ".."):
                yield Problem(join(field, str(key)), f"{key!r} is not a valid ConfigMap key",
                              "use at most 253 letters, digits, '-', '_' or '.'", rule="k8s-key")


def check_configmap_size(document: dict[str, Any]) -> Iterator[Problem]:
    """A ConfigMap's data must fit the API server's 1 MiB (the values as stored: the Workflow as YAML in a
    CronJob's ConfigMap, about 1.3x the JSON Argo measures); over 256 KiB, client-side `kubectl apply`
    cannot store it in its last-applied-configuration annotation (annotations: 256 KiB in all)."""
    if document.get("kind") != "ConfigMap":
        return
    stored = 0
    for field in ("data", "binaryData"):
        entries = document.get(field)
        for value in (entries if isinstance(entries, dict) else {}).values():
            stored += len(str(value).encode("utf-8"))
    if stored > CONFIGMAP_DATA_MAX_BYTES:
        yield Problem(
            "data", f"holds {stored} bytes of data, over Kubernetes' 1 MiB limit for a ConfigMap (the values as "
            "stored: a Workflow kept as YAML is about 1.3 times the compact JSON Argo measures)",
            "make the DAG smaller (split it into several DAGs), or schedule it with bridge split --schedule "
            "cronworkflow, which keeps the Workflow as an Argo object instead of a ConfigMap",
            rule="configmap-size",
        )
        return
    if not fits_client_side_apply(document):
        yield Problem(
            "metadata.annotations", f"the object is {stored_size(document)} bytes as JSON, which client-side `kubectl apply` copies into its {LAST_APPLIED} "
            "annotation, over Kubernetes' 256 KiB for all annotations: a plain `kubectl apply -f` fails",
            "apply this file with `kubectl apply --server-side -f` (or create it with `kubectl create -f`)",
            severity=WARNING, rule="configmap-size",
        )


def fits_client_side_apply(document: dict[str, Any]) -> bool:
    """Whether `kubectl apply` (client-side) can keep its copy of the object, as compact JSON, in the
    last-applied-configuration annotation beside the object's own annotations (256 KiB in all)."""
    annotations = (document.get("metadata") or {}).get("annotations") or {}
    others = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in annotations.items() if k != LAST_APPLIED)
    return len(LAST_APPLIED) + stored_size(document) + others <= ANNOTATIONS_MAX_BYTES


def _synchronization(sync: Any, path: str) -> Iterator[Problem]:
    """workflow/sync: what Argo refuses when it acquires the locks (the Workflow fails, or the node errors)."""
    if not isinstance(sync, dict):
        return
    items = [("semaphores", item) for item in sync.get("semaphores") or []]
    items += [("mutexes", item) for item in sync.get("mutexes") or []]
    seen: list[Any] = []
    positions = {"semaphores": 0, "mutexes": 0}
    for field, item in items:
        where = index(join(path, field), positions[field])
        positions[field] += 1
        if item in seen:
            yield Problem(where, "repeats a synchronization item; Argo fails with 'duplicate synchronization item found'",
                          "list each lock once", rule="argo-sync")
        seen.append(item)
        if not isinstance(item, dict):
            continue
        if field == "mutexes" and not item.get("name"):
            yield Problem(join(where, "name"), "a mutex needs a name", "name the mutex", rule="argo-sync")
        ref = item.get("configMapKeyRef")
        if field == "semaphores" and (ref is None) == (item.get("database") is None):
            yield Problem(where, "a semaphore needs exactly one of configMapKeyRef and database",
                          "give the ConfigMap key holding its limit", rule="argo-sync")
        if field == "semaphores" and isinstance(ref, dict):
            if not ref.get("name"):
                yield Problem(join(join(where, "configMapKeyRef"), "name"), "is missing", "name the ConfigMap", rule="argo-sync")
            key = str(ref.get("key") or "")
            if not _CONFIGMAP_KEY.match(key):
                yield Problem(join(join(where, "configMapKeyRef"), "key"), f"{key!r} is not a valid ConfigMap key",
                              "use at most 253 letters, digits, '-', '_' or '.'", rule="argo-sync")


def _name_format(path: str, name: str, limit: int, pattern: re.Pattern[str], shown: str | None = None) -> Iterator[Problem]:
    shown = name if shown is None else shown
    if len(name) > limit:
        yield Problem(path, f"{shown!r} is {len(shown)} characters, over the limit of {limit - (shown != name)}",
                      "shorten it (bridge maps ids to names with a hash suffix, see DESIGN.md Names)", rule="k8s-name")
    if not pattern.match(name):
        yield Problem(path, f"{shown!r} is not a valid Kubernetes name",
                      "use lower-case letters, digits and '-', starting and ending with a letter or digit",
                      rule="k8s-name")


def _qualified_key(path: str, key: str) -> Iterator[Problem]:
    prefix, _, name = key.rpartition("/")
    if (prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix))) or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        yield Problem(path, f"key {key!r} is not a valid Kubernetes label or annotation key",
                      "use an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.'",
                      rule="k8s-key")


def _names_in(items: Any, path: str, what: str, pattern: re.Pattern[str], fix: str) -> Iterator[Problem]:
    """validateWorkflowFieldNames: present, valid and unique names in a list."""
    if not isinstance(items, list):
        return
    seen: dict[str, int] = {}
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        where = index(path, position)
        name = item.get("name")
        if not isinstance(name, str) or not name:
            yield Problem(join(where, "name"), f"{what} has no name", "add a name", rule="argo-name")
            continue
        if not pattern.match(name) or (pattern is _FIELD_NAME and len(name) > FIELD_NAME_MAX):
            yield Problem(join(where, "name"), f"{what} name {name!r} is invalid", fix, rule="argo-name")
        if name in seen:
            yield Problem(join(where, "name"), f"{what} name {name!r} is not unique (also at [{seen[name]}])",
                          "give each one its own name", rule="argo-unique-name")
        seen.setdefault(name, position)


_FIELD_FIX = "use letters, digits and '-', starting with a letter or digit, at most 128 characters"
_PARAM_FIX = "use letters, digits, '-' and '_' only"


def _parameters(holder: Any, path: str, what: str) -> Iterator[Problem]:
    if not isinstance(holder, dict):
        return
    for field in ("parameters", "artifacts"):
        yield from _names_in(holder.get(field), join(path, field), f"{what} {field[:-1]}", _PARAM_NAME, _PARAM_FIX)


def _check_spec(document: dict[str, Any], spec: dict[str, Any], path: str) -> Iterator[Problem]:
    templates = spec.get("templates") or []
    if not isinstance(templates, list):
        return
    tpath = join(path, "templates")
    yield from _names_in(templates, tpath, "template", _FIELD_NAME, _FIELD_FIX)
    by_name = {t.get("name"): t for t in templates if isinstance(t, dict)}
    entrypoint = spec.get("entrypoint")
    if entrypoint is None and document.get("kind") in ("Workflow", "CronWorkflow") and not spec.get("workflowTemplateRef"):
        yield Problem(join(path, "entrypoint"), "is missing", "name the template to start with", rule="argo-entrypoint")
    # With a workflowTemplateRef the templates are the referenced WorkflowTemplate's (Argo refuses any of the
    # Workflow's own: validate.go, WorkflowTemplateRefFields), so entrypoint and onExit name those.
    referenced = bool(spec.get("workflowTemplateRef"))
    if referenced and templates:
        yield Problem(tpath, "is set beside workflowTemplateRef; Argo refuses a Workflow that has both",
                      "put the templates into the WorkflowTemplate", rule="argo-template-ref")
    for field in ("entrypoint", "onExit"):
        target = spec.get(field)
        if not referenced and isinstance(target, str) and "{{" not in target and target not in by_name:
            yield Problem(join(path, field), f"template {target!r} does not exist",
                          "name one of spec.templates", rule="argo-template-ref")
    yield from _parameters(spec.get("arguments"), join(path, "arguments"), "workflow argument")
    yield from _synchronization(spec.get("synchronization"), join(path, "synchronization"))
    globals_ = _global_scope(document, spec)
    for position, template in enumerate(templates):
        if isinstance(template, dict):
            yield from _synchronization(template.get("synchronization"), join(index(tpath, position), "synchronization"))
            yield from _check_template(template, index(tpath, position), by_name, globals_)


def _global_scope(document: dict[str, Any], spec: dict[str, Any]) -> set[str]:
    scope = set(_WORKFLOW_GLOBALS)
    arguments = spec.get("arguments") or {}
    for parameter in (arguments.get("parameters") or []) if isinstance(arguments, dict) else []:
        if isinstance(parameter, dict) and parameter.get("name"):
            scope.add(f"workflow.parameters.{parameter['name']}")
    metadata = document.get("metadata") or {}
    for field in ("annotations", "labels"):
        for key in (metadata.get(field) or {}) if isinstance(metadata, dict) else {}:
            scope.add(f"workflow.{field}.{key}")
    if document.get("kind") in ("CronWorkflow", "WorkflowTemplate", "ClusterWorkflowTemplate"):
        # Set when a CronWorkflow starts the run; a template may be one's (Argo allows it: validate.go, "scheduledTime").
        scope.add("workflow.scheduledTime")
    for template in spec.get("templates") or []:
        outputs = template.get("outputs") if isinstance(template, dict) else None
        for field in ("parameters", "artifacts"):
            for item in ((outputs or {}).get(field) or []) if isinstance(outputs, dict) else []:
                if isinstance(item, dict) and item.get("globalName"):
                    scope.add(f"workflow.outputs.{field}.{item['globalName']}")
    return scope


def _template_scope(template: dict[str, Any], globals_: set[str]) -> set[str]:
    scope = set(globals_) | _TEMPLATE_LOCALS
    inputs = template.get("inputs") or {}
    for parameter in (inputs.get("parameters") or []) if isinstance(inputs, dict) else []:
        if isinstance(parameter, dict) and parameter.get("name"):
            scope.add(f"inputs.parameters.{parameter['name']}")
    for artifact in (inputs.get("artifacts") or []) if isinstance(inputs, dict) else []:
        if isinstance(artifact, dict) and artifact.get("name"):
            scope |= {f"inputs.artifacts.{artifact['name']}", f"inputs.artifacts.{artifact['name']}.path"}
    outputs = template.get("outputs") or {}
    for field in ("parameters", "artifacts"):
        for item in (outputs.get(field) or []) if isinstance(outputs, dict) else []:
            if isinstance(item, dict) and item.get("name"):
                scope.add(f"outputs.{field}.{item['name']}.path")
    if template.get("retryStrategy"):
        scope.add("retries")
    return scope


def _check_template(template: dict[str, Any], path: str, by_name: Mapping[Any, Any], globals_: set[str]) -> Iterator[Problem]:
    yield from _parameters(template.get("inputs"), join(path, "inputs"), "input")
    yield from _parameters(template.get("outputs"), join(path, "outputs"), "output")
    retry = template.get("retryStrategy")
    policy = retry.get("retryPolicy") if isinstance(retry, dict) else None
    if policy is not None and policy not in _RETRY_POLICIES:
        yield Problem(join(join(path, "retryStrategy"), "retryPolicy"), f"{policy!r} is not one of {', '.join(_RETRY_POLICIES)}",
                      "use one of Argo's retry policies", rule="argo-enum")
    scope = _template_scope(template, globals_)
    dag = template.get("dag")
    for key, value in template.items():
        if key in ("dag", "steps") or (key == "outputs" and isinstance(dag, dict)):
            continue
        for field_path, name in _references(value, join(path, key), scope):
            yield _unresolved(name, field_path, {})
    if isinstance(dag, dict):
        yield from _check_dag_outputs(template.get("outputs"), dag, join(path, "outputs"), by_name, scope)
        yield from _check_dag(dag, join(path, "dag"), by_name, scope)


def _check_dag_outputs(outputs: Any, dag: dict[str, Any], path: str, by_name: Mapping[Any, Any], scope: set[str]) -> Iterator[Problem]:
    """A DAG template's outputs may name any of its tasks' outputs (valueFrom.parameter), once the DAG is done."""
    found = dag.get("tasks")
    tasks: list[Any] = found if isinstance(found, list) else []
    names = {task.get("name"): position for position, task in enumerate(tasks) if isinstance(task, dict)}
    for field_path, ref in _references(outputs, path, scope):
        match = _TASK_REF.match(ref)
        if not match or match.group(1) not in names or match.group(2) not in _outputs_of(by_name.get(_template_of(tasks, names, match.group(1)))):
            yield _unresolved(ref, field_path, names)


def _outputs_of(template: Any) -> set[str]:
    """What `tasks.X.<…>` may name for a task running `template`."""
    fields = set(_TASK_FIELDS)
    if not isinstance(template, dict):
        return fields
    outputs = template.get("outputs") or {}
    for field in ("parameters", "artifacts"):
        for item in (outputs.get(field) or []) if isinstance(outputs, dict) else []:
            if isinstance(item, dict) and item.get("name"):
                fields.add(f"outputs.{field}.{item['name']}")
    fields.add("outputs.parameters")
    return fields


def _dependencies(task: dict[str, Any]) -> tuple[list[str], str | None]:
    """Names a task depends on, and a syntax error in its `depends`, if any."""
    from bridge.argo.expr import TASK_NAME, ExpressionError, evaluate_depends, task_depends

    depends = task.get("depends")
    names = [str(d) for d in task.get("dependencies") or [] if isinstance(d, (str, int))]
    if not isinstance(depends, str) or not depends.strip():
        return names, None
    stub: dict[str, dict[str, Any]] = {}
    for match in TASK_NAME.finditer(depends):  # the same tokeniser Argo's ancestry.go uses
        name = match.group(1).split(".", 1)[0] if match.group(1) else match.group(2)
        if name not in ("true", "false"):
            names.append(name)
            stub[name] = {}
    try:
        _, logic = task_depends({"name": task.get("name"), "depends": depends}, stub)
        evaluate_depends(logic, {name: {} for name in stub})
    except ExpressionError as error:
        return names, str(error)
    return names, None


def _check_dag(dag: dict[str, Any], path: str, by_name: Mapping[Any, Any], scope: set[str]) -> Iterator[Problem]:
    tasks = dag.get("tasks")
    tpath = join(path, "tasks")
    if not isinstance(tasks, list) or not tasks:
        yield Problem(tpath, "a DAG template needs at least one task", "add a task", rule="argo-dag")
        return
    yield from _names_in(tasks, tpath, "DAG task", _FIELD_NAME, _FIELD_FIX)
    entries = [(position, task) for position, task in enumerate(tasks) if isinstance(task, dict)]
    names = {task.get("name"): position for position, task in entries}
    uses_depends = any(task.get("depends") for _, task in entries)
    uses_any = uses_depends or any(task.get("dependencies") for _, task in entries)
    graph: dict[str, list[str]] = {}
    for position, task in entries:
        where = index(tpath, position)
        name = str(task.get("name"))
        deps, syntax = _dependencies(task)
        graph[name] = deps
        if uses_any and name[:1].isdigit():
            yield Problem(join(where, "name"), f"DAG task name {name!r} begins with a digit, which Argo refuses "
                          "when the DAG uses depends or dependencies", "start the name with a letter", rule="argo-name")
        if uses_depends and task.get("dependencies"):
            yield Problem(join(where, "dependencies"), "the DAG mixes 'depends' and 'dependencies'",
                          "use 'depends' everywhere", rule="argo-depends")
        if syntax:
            yield Problem(join(where, "depends"), f"cannot be evaluated: {syntax}", "fix the expression", rule="argo-depends")
        for dep in dict.fromkeys(deps):
            if dep not in names:
                field = "depends" if task.get("depends") else "dependencies"
                yield Problem(join(where, field), f"names task {dep!r}, which is not a task of this DAG",
                              "depend on an existing task or remove the reference", rule="argo-depends")
        target = task.get("template")
        if isinstance(target, str) and not task.get("templateRef") and target not in by_name:
            yield Problem(join(where, "template"), f"template {target!r} does not exist",
                          "name one of spec.templates", rule="argo-template-ref")
        if task.get("when") is not None:
            yield from _check_when(str(task["when"]), join(where, "when"))
    cycle = _find_cycle(graph)
    if cycle:
        position = names.get(cycle[0], 0)
        yield Problem(index(tpath, position), "dependency cycle: " + " -> ".join(cycle),
                      "remove one of these dependencies", rule="argo-cycle")
        return
    outputs: dict[Any, set[str]] = {}
    for position, task in entries:
        where = index(tpath, position)
        name = str(task.get("name"))
        for key, value in task.items():
            if key in ("name", "depends", "dependencies", "template"):
                continue
            for field_path, ref in _references(value, join(where, key), scope):
                match = _TASK_REF.match(ref)
                if not match or match.group(1) not in names:
                    yield _unresolved(ref, field_path, names)
                    continue
                other, field = match.groups()
                template = _template_of(tasks, names, other)
                if template not in outputs:
                    outputs[template] = _outputs_of(by_name.get(template))
                if field not in outputs[template] or not _is_ancestor(other, name, graph):
                    yield _unresolved(ref, field_path, names)
        yield from _arguments_match(task, where, by_name)


def _is_ancestor(other: str, name: str, graph: Mapping[str, list[str]]) -> bool:
    """Whether `other` is upstream of `name` (direct upstreams first: that is the common case)."""
    direct = graph.get(name, [])
    if other in direct:
        return True
    seen: set[str] = set()
    pending = list(direct)
    while pending:
        current = pending.pop()
        if current == other:
            return True
        if current not in seen:
            seen.add(current)
            pending.extend(graph.get(current, []))
    return False


def _template_of(tasks: list[Any], names: Mapping[Any, int], name: str) -> Any:
    task = tasks[names[name]] if name in names else None
    return task.get("template") if isinstance(task, dict) else None


def _arguments_match(task: dict[str, Any], where: str, by_name: Mapping[Any, Any]) -> Iterator[Problem]:
    """Every input parameter without a default must be given by the task's arguments."""
    template = by_name.get(task.get("template"))
    if not isinstance(template, dict) or task.get("templateRef"):
        return
    inputs = template.get("inputs") or {}
    arguments = task.get("arguments") or {}
    given = {p.get("name") for p in (arguments.get("parameters") or []) if isinstance(p, dict)} if isinstance(arguments, dict) else set()
    for parameter in (inputs.get("parameters") or []) if isinstance(inputs, dict) else []:
        if not isinstance(parameter, dict):
            continue
        if parameter.get("name") not in given and parameter.get("default") is None and parameter.get("value") is None:
            yield Problem(join(where, "arguments"), f"input parameter {parameter.get('name')!r} of template "
                          f"{template.get('name')!r} is not supplied", "pass it in arguments.parameters or give it a default",
                          rule="argo-arguments")


def _check_when(when: str, path: str) -> Iterator[Problem]:
    """govaluate syntax of `when`, with every {{…}} replaced by a plain word (as after substitution).

    Only parsed (bridge.argo.expr, the evaluator `bridge run` uses), not evaluated:
    evaluation recurses once per operator, and a fan-in of a thousand upstreams is legitimate.
    """
    from bridge.argo.expr import ExpressionError, parse_when

    text = _REFERENCE.sub("x", when)
    try:
        parse_when(text)
    except ExpressionError as error:
        yield Problem(path, f"is not a valid expression: Invalid 'when' expression '{text}': {error}",
                      "fix the expression", rule="argo-when")
    except RecursionError:  # too deep for this parser; Argo's has no such limit
        return


def _find_cycle(graph: Mapping[str, list[str]]) -> list[str]:
    """One dependency cycle (first task repeated at the end), or [] (iterative: DAGs have thousands of tasks)."""
    state: dict[str, int] = {}
    for start in graph:
        if state.get(start):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(graph.get(start, [])))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                path = [n for n, _ in stack]
                return path[path.index(child):] + [child]
            elif not state.get(child) and child in graph:
                state[child] = 1
                stack.append((child, iter(graph.get(child, []))))
    return []


def _references(value: Any, path: str, scope: set[str]) -> Iterator[tuple[str, str]]:
    """(path, variable) of every {{…}} under `value` that is not in `scope`."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _references(item, join(path, str(key)), scope)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _references(item, index(path, position), scope)
    elif isinstance(value, str) and "{{" in value:
        for match in _REFERENCE.finditer(value):
            name = match.group(1).strip()
            guarded = GUARDED_OUTPUT.fullmatch(name)
            if guarded:  # bridge's guarded reference names an output (or exit code) as a plain one does
                name = guarded_variable(guarded)
            if not (name.startswith("=") or name in scope or _dynamic(name)):
                yield path, name


def _dynamic(name: str) -> bool:
    """Variables Argo resolves by pattern: timestamp formats, items, step outputs."""
    if name.startswith("workflow.creationTimestamp.") or name == "item" or name.startswith("item."):
        return True
    return bool(_STEP_REF.match(name))


def _unresolved(name: str, path: str, tasks: Mapping[Any, int]) -> Problem:
    """The finding for a variable that does not resolve."""
    match = _TASK_REF.match(name)
    if match and match.group(1) in tasks:
        return Problem(path, f"{{{{{name}}}}} cannot be resolved: task {match.group(1)!r} is not an ancestor of this "
                       "task, or its template has no such output", "depend on that task, or name an output its template "
                       "declares", rule="argo-reference")
    if match:
        return Problem(path, f"{{{{{name}}}}} names task {match.group(1)!r}, which is not a task of this DAG",
                       "name an existing task", rule="argo-reference")
    return Problem(path, f"{{{{{name}}}}} cannot be resolved here", "declare the parameter (spec.arguments or the "
                   "template's inputs) or fix the name", rule="argo-reference")


__all__ = ["check_argo_rules", "check_configmap_keys", "check_configmap_size", "check_metadata", "fits_client_side_apply", "check_size", "ERROR", "WARNING"]
