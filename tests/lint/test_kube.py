"""bridge.lint.kube: the shortcut past jsonschema's walk says "valid" only where jsonschema finds no error."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import referencing
import referencing.jsonschema
import yaml

from bridge.lint.kube import KUBERNETES_RANGE, _surely_valid, _validator
from tests.helpers import ROOT

# A value of each type YAML gives, a date among them (an unquoted 2024-01-01).
OTHERS = [None, 0, 1.5, True, "x", [], {}, dt.date(2024, 1, 1)]
# Beyond what bridge emits: resources (Quantity is a oneOf), ports, probes (IntOrString), env sources, volumes.
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {
    "restartPolicy": "Never", "volumes": [{"name": "v", "emptyDir": {"sizeLimit": "1Gi"}}],
    "containers": [{
        "name": "a", "image": "b", "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "resources": {"limits": {"cpu": "1", "memory": 1000}},
        "readinessProbe": {"httpGet": {"port": "http", "path": "/"}, "periodSeconds": 5},
        "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}}}],
        "volumeMounts": [{"name": "v", "mountPath": "/v", "readOnly": True}],
    }],
}}


def _emitted() -> list[dict[str, Any]]:
    """The largest golden document of each Kubernetes kind bridge emits."""
    largest: dict[str, dict[str, Any]] = {}
    for path in sorted((ROOT / "tests" / "golden").rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and not str(document.get("apiVersion", "")).startswith(("argoproj.io/", "kustomize.")):
                if len(json.dumps(document)) > len(json.dumps(largest.get(document["kind"], {}))):
                    largest[document["kind"]] = document
    assert sorted(largest) == ["ConfigMap", "CronJob", "Role", "RoleBinding", "ServiceAccount"]
    return list(largest.values())


def _variants(node: Any) -> Iterator[Any]:
    """`node`, then copies of it with one mistake each: a value of another type, a key dropped or an unknown key."""
    yield node
    if isinstance(node, dict):
        yield {**node, "zz-unknown": "x"}
        for key, value in node.items():
            yield {k: v for k, v in node.items() if k != key}
            yield from ({**node, key: variant} for variant in itertools.islice(_variants(value), 1, None))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from (node[:i] + [variant] + node[i + 1:] for variant in itertools.islice(_variants(value), 1, None))
    yield from (other for other in OTHERS if type(other) is not type(node))


@pytest.mark.parametrize("version", KUBERNETES_RANGE)
def test_the_shortcut_never_passes_a_document_jsonschema_rejects(version: str) -> None:
    checked = rejected = 0
    for document in [*_emitted(), POD]:
        built = _validator(document["kind"], document["apiVersion"], version)
        assert built is not None
        validator, root, targets = built
        # What makes the lint fast: bridge's own documents take the shortcut (POD's oneOf fields do not).
        assert _surely_valid(validator.schema, document, root, targets) == (document is not POD), document["kind"]
        for variant in _variants(document):
            errors = list(validator.iter_errors(variant))
            assert not (_surely_valid(validator.schema, variant, root, targets) and errors), (variant, errors[0].message)
            checked += 1
            rejected += bool(errors)
    assert checked > 1000 and rejected > checked // 2


# Schemas the shortcut must leave to jsonschema, each with an instance jsonschema rejects.
GIVE_UP = [
    ({"minLength": 3}, "ab"),  # a keyword it does not follow
    ({"oneOf": [{"type": ["string", "null"]}, {"type": ["integer", "null"]}]}, None),  # valid under both
    ({"type": "integer"}, True),
    ({"type": "number"}, False),
    ({"type": "string"}, dt.date(2024, 1, 1)),
    ({"enum": [1]}, True),
    ({"enum": "abc"}, "ab"),  # not a list: jsonschema compares with each character
    ({"additionalProperties": False, "patternProperties": {"^b": True}}, {"a": 1}),
    # A subschema with its own $id is a new base URI: its "#/$defs/x" is its own x.
    ({"$defs": {"x": True}, "properties": {"a": {"$id": "https://example.com/a", "$defs": {"x": False}, "$ref": "#/$defs/x"}}},
     {"a": 1}),
    # Another dialect's subschema has other keywords ("dependencies" is an annotation in 2020-12).
    ({"properties": {"a": {"$schema": "http://json-schema.org/draft-07/schema#", "dependencies": {"x": ["y"]}}}},
     {"a": {"x": 1}}),
    ({"items": {"type": "string"}, "prefixItems": [{"type": "integer"}]}, ["a"]),
    ({"$ref": "#/$defs/missing"}, 1),
]


@pytest.mark.parametrize("schema, instance", GIVE_UP, ids=[json.dumps(s, default=str)[:60] for s, _ in GIVE_UP])
def test_the_shortcut_gives_up_on_what_it_does_not_follow(schema: dict[str, Any], instance: Any) -> None:
    registry: referencing.Registry[Any] = referencing.Registry()
    root = registry.resolver_with_root(referencing.jsonschema.DRAFT202012.create_resource(schema))
    try:
        rejected = bool(list(jsonschema.Draft202012Validator(schema).iter_errors(instance)))
    except referencing.exceptions.Unresolvable:  # the missing $ref: jsonschema raises
        rejected = True
    assert rejected
    assert not _surely_valid(schema, instance, root, {})
