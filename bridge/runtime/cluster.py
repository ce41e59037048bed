"""The Kubernetes API as a task's pod reaches it: its ServiceAccount in the cluster, else the kubeconfig.

Used by the tasks that read or create other DAGs' runs, which are Workflows of the pod's
namespace (bridge.runtime.external: ExternalTaskSensor; bridge.runtime.trigger:
TriggerDagRunOperator). The kubernetes client is imported only when one of them asks.
"""

from __future__ import annotations

import os
from typing import Any

SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
GROUP, VERSION = "argoproj.io", "v1alpha1"


def namespace() -> str:
    """The pod's namespace (its ServiceAccount's), else the kubeconfig context's, else default."""
    try:
        with open(SERVICE_ACCOUNT_NAMESPACE, encoding="utf-8") as handle:
            return handle.read().strip() or "default"
    except OSError:
        pass
    try:
        from kubernetes import config

        _, context = config.list_kube_config_contexts(config_file=os.environ.get("KUBECONFIG"))
        return str((context or {}).get("context", {}).get("namespace") or "default")
    except Exception:  # no kubeconfig either: the API call says so
        return "default"


def custom_objects() -> Any:
    """A CustomObjectsApi (in-cluster, else the kubeconfig: $KUBECONFIG)."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
    return client.CustomObjectsApi(client.ApiClient())
