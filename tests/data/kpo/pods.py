"""KubernetesPodOperator tasks of the shapes production DAGs use (tests/test_kpo.py: each native one's
Argo template must give the pod the cncf provider builds; `templated` is rendered per run; the
last four run through Airflow)."""

import os

import pendulum
from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from airflow.providers.google.cloud.operators.kubernetes_engine import GKEStartPodOperator
from kubernetes.client import models as k8s

HERE = os.path.dirname(os.path.abspath(__file__))


class TeamPodOperator(KubernetesPodOperator):
    """An in-house subclass that sets the team's defaults (image, resources, tolerations)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("image", "registry.example.com/team/job:1.4")
        kwargs.setdefault("container_resources", k8s.V1ResourceRequirements(requests={"cpu": "250m", "memory": "256Mi"}))
        kwargs.setdefault("tolerations", [k8s.V1Toleration(key="team", operator="Equal", value="data", effect="NoSchedule")])
        kwargs.setdefault("labels", {"team": "data"})
        super().__init__(**kwargs)


with DAG("kpo_pods", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None, catchup=False) as dag:
    plain = KubernetesPodOperator(task_id="plain", image="alpine:3.20", cmds=["sh", "-c"], arguments=["echo plain"])
    resources = KubernetesPodOperator(
        task_id="resources",
        image="alpine:3.20",
        cmds=["true"],
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": "500m", "memory": "512Mi"}, limits={"memory": "1Gi", "nvidia.com/gpu": "1"}
        ),
        env_vars={"MODE": "batch", "LEVEL": "3"},
    )
    volumes = KubernetesPodOperator(
        task_id="volumes",
        image="alpine:3.20",
        cmds=["ls", "/config", "/scratch"],
        volumes=[
            k8s.V1Volume(name="config", config_map=k8s.V1ConfigMapVolumeSource(name="job-config")),
            k8s.V1Volume(name="scratch", empty_dir=k8s.V1EmptyDirVolumeSource(medium="Memory")),
        ],
        volume_mounts=[
            k8s.V1VolumeMount(name="config", mount_path="/config", read_only=True),
            k8s.V1VolumeMount(name="scratch", mount_path="/scratch"),
        ],
        secrets=[Secret("env", "API_TOKEN", "api-secret", "token"), Secret("volume", "/secrets/db", "db-secret")],
    )
    placement = KubernetesPodOperator(
        task_id="placement",
        image="alpine:3.20",
        cmds=["true"],
        node_selector={"kubernetes.io/arch": "amd64"},
        affinity=k8s.V1Affinity(
            node_affinity=k8s.V1NodeAffinity(
                required_during_scheduling_ignored_during_execution=k8s.V1NodeSelector(
                    node_selector_terms=[
                        k8s.V1NodeSelectorTerm(
                            match_expressions=[k8s.V1NodeSelectorRequirement(key="zone", operator="In", values=["a", "b"])]
                        )
                    ]
                )
            )
        ),
        tolerations=[k8s.V1Toleration(key="dedicated", operator="Exists", effect="NoSchedule")],
        priority_class_name="batch-low",
        schedulername="volcano",
    )
    from_file = KubernetesPodOperator(
        task_id="from_file",
        pod_template_file=os.path.join(HERE, "pod_template.yaml"),
        cmds=["run-batch"],
        arguments=["--all"],
    )
    full_spec = KubernetesPodOperator(
        task_id="full_spec",
        image="alpine:3.20",
        full_pod_spec=k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(annotations={"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}),
            spec=k8s.V1PodSpec(
                containers=[
                    k8s.V1Container(name="base", image="alpine:3.20", working_dir="/work"),
                    k8s.V1Container(name="proxy", image="envoyproxy/envoy:v1.31", args=["--config", "/etc/envoy.yaml"]),
                ],
                termination_grace_period_seconds=60,
            ),
        ),
        cmds=["true"],
    )
    init = KubernetesPodOperator(
        task_id="init",
        image="alpine:3.20",
        cmds=["cat", "/shared/ready"],
        init_containers=[
            k8s.V1Container(
                name="prepare",
                image="busybox:1.36",
                command=["sh", "-c", "echo ok > /shared/ready"],
                volume_mounts=[k8s.V1VolumeMount(name="shared", mount_path="/shared")],
            )
        ],
        volumes=[k8s.V1Volume(name="shared", empty_dir=k8s.V1EmptyDirVolumeSource())],
        volume_mounts=[k8s.V1VolumeMount(name="shared", mount_path="/shared")],
    )
    env_from = KubernetesPodOperator(
        task_id="env_from",
        image="alpine:3.20",
        cmds=["env"],
        env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="job-secrets"))],
        configmaps=["job-settings"],
        pod_runtime_info_envs=[k8s.V1EnvVar(name="NODE", value_from=k8s.V1EnvVarSource(field_ref=k8s.V1ObjectFieldSelector(field_path="spec.nodeName")))],
    )
    team = TeamPodOperator(task_id="team", cmds=["job"], arguments=["--fast"])
    host = KubernetesPodOperator(
        task_id="host",
        image="alpine:3.20",
        cmds=["true"],
        hostnetwork=True,
        dnspolicy="ClusterFirstWithHostNet",
        dns_config=k8s.V1PodDNSConfig(nameservers=["10.0.0.10"]),
        image_pull_secrets=[k8s.V1LocalObjectReference(name="registry")],
        service_account_name="jobs",
        security_context=k8s.V1PodSecurityContext(run_as_user=1000, fs_group=2000),
        container_security_context=k8s.V1SecurityContext(read_only_root_filesystem=True),
        labels={"app": "host-job"},
        annotations={"example.com/owner": "data"},
        active_deadline_seconds=600,
        image_pull_policy="Always",
    )
    # Its return.json is its XCom (Argo reads the file: no sidecar).
    pushes = KubernetesPodOperator(task_id="pushes", image="alpine:3.20", cmds=["true"], do_xcom_push=True)
    # Rendered for each run first (a render step), then a native pod.
    templated = KubernetesPodOperator(task_id="templated", image="alpine:{{ params.tag }}", cmds=["echo"], arguments=["{{ ds }}"],
                                      params={"tag": "3.20"})
    # Exit code 100 or 3 skips it (a no-op step after the pod records the skip; a skip is not retried).
    skips = KubernetesPodOperator(task_id="skips", image="alpine:3.20", cmds=["true"], skip_on_exit_code=[100, 3], retries=2)
    # Its on_failure_callback fires from a step after the pod (Airflow concludes the task from its exit code).
    alerted = KubernetesPodOperator(task_id="alerted", image="alpine:3.20", cmds=["true"], on_failure_callback=print)
    # A templated label value: rendered for each run too (an input of the pod's metadata).
    labelled = KubernetesPodOperator(task_id="labelled", image="alpine:3.20", cmds=["true"], labels={"day": "{{ ds }}"})
    # These three need Airflow at run time: they keep running through the operator.
    keyed = KubernetesPodOperator(task_id="keyed", image="alpine:3.20", cmds=["true"], labels={"{{ params.team }}": "yes"},
                                  params={"team": "data"})
    retry_alerted = KubernetesPodOperator(task_id="retry_alerted", image="alpine:3.20", cmds=["true"], on_retry_callback=print)
    gke = GKEStartPodOperator(
        task_id="gke", project_id="p", location="europe-west1", cluster_name="other", image="alpine:3.20", cmds=["true"]
    )
    plain >> [resources, volumes] >> placement
