"""The container launcher (`bridge run --engine podman|docker`).

The command-line tests run everywhere. The tests marked `needs_image` start real containers: they
run when BRIDGE_E2E_IMAGE names an image in the engine's store (tests/e2e/image.sh sets it, with
BRIDGE_ENGINE and BRIDGE_ENGINE_FLAGS, after building the ETL example's image).
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from bridge.errors import BridgeError
from bridge.local.container import ContainerLauncher
from bridge.local.launcher import PodSpec

IMAGE = os.environ.get("BRIDGE_E2E_IMAGE", "")
ENGINE = os.environ.get("BRIDGE_ENGINE", "podman")
needs_image = pytest.mark.skipif(not IMAGE, reason="BRIDGE_E2E_IMAGE is not set (tests/e2e/image.sh sets it)")


def pod(*script: str, **kwargs) -> PodSpec:
    return PodSpec(
        name=kwargs.pop("name", "probe"),
        command=("sh", "-c"),
        args=("\n".join(script),),
        env=kwargs.pop("env", {}),
        outputs=kwargs.pop("outputs", ()),
        image=kwargs.pop("image", IMAGE or "example/image:1"),
        **kwargs,
    )


def test_command_line_carries_the_pod_security_and_only_names_of_variables(tmp_path) -> None:
    base = {"AIRFLOW_CONN_WAREHOUSE": "postgres://u:hunter2@db/x", "AIRFLOW_VAR_LIMIT": "5", "HOME": "/root", "EXTRA": "e"}
    launcher = ContainerLauncher("podman", str(tmp_path), base_env=base, pass_env=("EXTRA",), flags=["--storage-driver", "vfs"])
    line, env = launcher.command(pod("true", env={"AIRFLOW_CTX": "x"}, image="example/image:1"), "/scratch/probe", "bridge-abc")
    assert line[:4] == ["podman", "--storage-driver", "vfs", "run"]
    for flag in (["--user", "50000:0"], ["--cap-drop", "ALL"], ["--security-opt", "no-new-privileges"], ["--volume", "/scratch/probe:/tmp"]):
        index = line.index(flag[0])
        assert line[index : index + 2] == flag
    assert "--read-only" in line and "--read-only-tmpfs=false" in line
    assert line[-3:] == ["example/image:1", "-c", "true"]
    assert line[line.index("--entrypoint") + 1] == "sh"
    # Secrets' stand-ins, --env names and the template's env go by name; their values only in the environment.
    names = [line[i + 1] for i, part in enumerate(line) if part == "--env"]
    assert names == ["AIRFLOW_CONN_WAREHOUSE", "AIRFLOW_CTX", "AIRFLOW_VAR_LIMIT", "EXTRA"]
    assert env == {"AIRFLOW_CONN_WAREHOUSE": base["AIRFLOW_CONN_WAREHOUSE"], "AIRFLOW_VAR_LIMIT": "5", "EXTRA": "e", "AIRFLOW_CTX": "x"}
    assert not any("hunter2" in part for part in line)


def test_docker_gets_no_podman_only_flag_and_an_image_override_wins(tmp_path) -> None:
    launcher = ContainerLauncher("docker", str(tmp_path), image="mine:2", base_env={}, flags=[])
    line, _ = launcher.command(pod("true", image="example/image:1"), "/s", "n")
    assert "--read-only-tmpfs=false" not in line
    assert "mine:2" in line and "example/image:1" not in line


def test_the_developers_key_file_is_mounted_read_only_where_the_variable_points(tmp_path) -> None:
    key = tmp_path / "key.json"
    key.write_text("{}")
    launcher = ContainerLauncher("podman", str(tmp_path), base_env={}, flags=[])
    line, env = launcher.command(pod("true", env={"GOOGLE_APPLICATION_CREDENTIALS": str(key)}), "/s", "n")
    assert line[line.index(f"{key}:{key}:ro") - 1] == "--volume"
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == str(key)
    line, _ = launcher.command(pod("true", env={"GOOGLE_APPLICATION_CREDENTIALS": "/var/secrets/google/key.json"}), "/s", "n")
    assert not any(part.endswith(":ro") for part in line)  # no such file here: nothing to mount


def test_secret_volume_stand_ins_are_mounted_read_only_at_their_paths(tmp_path) -> None:
    launcher = ContainerLauncher("podman", str(tmp_path), base_env={}, flags=[])
    spec = pod("true", mounts={"/var/secrets/airflow": "/home/dev/objects/airflow-secrets"})
    line, _ = launcher.command(spec, "/s", "n")
    index = line.index("/home/dev/objects/airflow-secrets:/var/secrets/airflow:ro")
    assert line[index - 1] == "--volume" and index < line.index("--entrypoint")


def test_an_engine_that_is_not_installed_is_a_clear_error(tmp_path) -> None:
    launcher = ContainerLauncher("no-such-engine-here", str(tmp_path), base_env={}, flags=[])
    with pytest.raises(BridgeError, match="cannot run the container engine 'no-such-engine-here'"):
        launcher.check_image("example/image:1")


@needs_image
def test_a_missing_image_names_the_build_command(tmp_path) -> None:
    launcher = ContainerLauncher(ENGINE, str(tmp_path))
    with pytest.raises(BridgeError, match=r"not in .*local store; build it .* build -f images/Dockerfile -t localhost/no/such:1 \."):
        launcher.check_image("localhost/no/such:1")


@needs_image
def test_the_pod_runs_as_50000_on_a_read_only_root_and_its_exit_code_and_files_come_back(tmp_path) -> None:
    launcher = ContainerLauncher(ENGINE, str(tmp_path), base_env={"AIRFLOW_VAR_GREETING": "hello"})
    spec = pod(
        "mkdir -p /tmp/out",
        "id -u > /tmp/out/uid",
        "if touch /opt/bridge/x 2>/dev/null; then echo writable; else echo read-only; fi > /tmp/out/root",
        'echo "$AIRFLOW_VAR_GREETING" > /tmp/out/var',
        "cat /tmp/in/data > /tmp/out/echo",
        "exit 3",
        files={"/tmp/in/data": "placed by the launcher"},
        outputs=("/tmp/out/uid", "/tmp/out/root", "/tmp/out/var", "/tmp/out/echo", "/tmp/out/absent"),
    )
    outcome = launcher.run(spec, log_path=str(tmp_path / "probe.log"), deadline=None, cancel=threading.Event())
    assert (outcome.exit_code, outcome.reason) == (3, "Error")
    files = {path.rsplit("/", 1)[1]: (data or b"").decode().strip() if data is not None else None for path, data in outcome.files.items()}
    assert files == {"uid": "50000", "root": "read-only", "var": "hello", "echo": "placed by the launcher", "absent": None}


@needs_image
def test_at_the_deadline_the_container_gets_sigterm_then_is_gone(tmp_path) -> None:
    launcher = ContainerLauncher(ENGINE, str(tmp_path), grace_seconds=5)
    spec = pod(
        "mkdir -p /tmp/out",
        "trap 'echo terminated > /tmp/out/signal; exit 143' TERM",
        "echo started > /tmp/out/signal",
        "sleep 120 & wait",
        outputs=("/tmp/out/signal",),
    )
    outcome = launcher.run(spec, log_path=str(tmp_path / "probe.log"), deadline=time.monotonic() + 8, cancel=threading.Event())
    assert outcome.reason == "DeadlineExceeded"
    assert outcome.files["/tmp/out/signal"] == b"terminated\n"
