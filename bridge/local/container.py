"""The container launcher: `bridge run --engine podman|docker` runs each pod in the built image.

The pod runs as the emitted template says it runs on Kubernetes (docs/IMAGE.md): the template's
image, command and args, uid 50000, a read-only root filesystem with only the scratch volume
writable at /tmp, no capabilities, no privilege escalation. The image's own /opt/bridge (the DAG
files baked in at build time) is used, so what runs is what the cluster would run.

Environment: the template's `env` values (with `envFrom`, from the `--secrets-dir` stand-ins:
bridge/local/pod.py), plus what the Secrets stand for on this machine (`AIRFLOW_CONN_*`,
`AIRFLOW_VAR_*` of the local environment, as the host launcher inherits them) and the names given
with `--env`. Values travel in the engine's environment and only names on its command line (`-e
NAME`), so no secret shows in a process listing. Secret and ConfigMap volumes are their stand-in
folders, mounted read-only.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
import uuid
from collections.abc import Iterable, Mapping

from bridge.constants import AIRFLOW_UID
from bridge.errors import BridgeError
from bridge.local.launcher import (
    LOCAL_FILE_VARIABLES,
    POD_SCRATCH,
    PodOutcome,
    PodSpec,
    empty_dir_folders,
    make_scratch,
    map_path,
    read_file,
    wait_pod,
)

# Environment names a pod gets from this machine without being asked: the Secrets' stand-ins.
SECRET_PREFIXES = ("AIRFLOW_CONN_", "AIRFLOW_VAR_")
# Exit codes of `podman run`/`docker run` itself (not of the container's process).
ENGINE_ERRORS = {125: "the container engine failed", 126: "the command cannot be invoked", 127: "the command was not found"}


def engine_flags() -> list[str]:
    """Global engine options from BRIDGE_ENGINE_FLAGS (e.g. podman's --storage-driver on a daemonless host)."""
    return shlex.split(os.environ.get("BRIDGE_ENGINE_FLAGS", ""))


class ContainerLauncher:
    """Runs each pod with `<engine> run` in the template's image (or `image`, when given)."""

    def __init__(
        self,
        engine: str,
        scratch_root: str,
        *,
        image: str | None = None,
        pass_env: Iterable[str] = (),
        grace_seconds: float = 30.0,
        poll_seconds: float = 0.1,
        base_env: Mapping[str, str] | None = None,
        flags: list[str] | None = None,
    ):
        self.engine = engine
        self.flags = engine_flags() if flags is None else list(flags)
        self.scratch_root = os.path.abspath(scratch_root)
        self.image = image
        self.pass_env = tuple(pass_env)
        self.grace_seconds = grace_seconds
        self.poll_seconds = poll_seconds
        self.base_env = dict(base_env) if base_env is not None else dict(os.environ)
        self._checked: set[str] = set()
        self._lock = threading.Lock()

    def _engine(self, *args: str) -> list[str]:
        return [self.engine, *self.flags, *args]

    def check_image(self, image: str) -> None:
        """Fail early, with the command that builds it, when the image is not in the engine's store."""
        with self._lock:
            if image in self._checked:
                return
            try:
                found = subprocess.run(
                    self._engine("image", "inspect", "--format", "{{.Id}}", image), capture_output=True, text=True, check=False
                )
            except OSError as error:
                raise BridgeError(f"cannot run the container engine {self.engine!r}: {error}") from None
            if found.returncode != 0:
                raise BridgeError(
                    f"image {image!r} is not in {self.engine}'s local store; build it from the split folder with "
                    f"`{self.engine} build -f images/Dockerfile -t {image} .` (see docs/IMAGE.md)"
                )
            self._checked.add(image)

    def command(self, pod: PodSpec, scratch: str, name: str, volumes: Mapping[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
        """The engine command line for `pod` and the environment it runs with (values for `-e NAME`)."""
        image = self.image or pod.image
        if not image:
            raise BridgeError(f"pod {pod.name!r}: the template has no container image")
        env = {key: value for key, value in self.base_env.items() if key.startswith(SECRET_PREFIXES)}
        env.update({key: self.base_env[key] for key in self.pass_env if key in self.base_env})
        env.update(pod.env)
        line = self._engine(
            "run",
            "--rm",
            "--name",
            name,
            "--user",
            f"{AIRFLOW_UID}:0",
            "--read-only",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--network",
            "host",
            "--volume",
            f"{scratch}:{POD_SCRATCH}",
            "--workdir",
            pod.workdir or POD_SCRATCH,
        )
        if self.engine.endswith("podman"):
            line.append("--read-only-tmpfs=false")  # as on Kubernetes: only the mounted volumes are writable
        for key in sorted(env):
            line += ["--env", key]
        for path in pod.empty_dirs:  # emptyDir volumes, writable, each a fresh folder of this attempt
            line += ["--volume", f"{(volumes or {})[path]}:{path}"]
        for path, host in sorted(pod.mounts.items()):  # the stand-ins of Secret volumes, read-only as on Kubernetes
            line += ["--volume", f"{host}:{path}:ro"]
        for key in sorted(LOCAL_FILE_VARIABLES & set(pod.env)):
            path = pod.env[key]
            if os.path.isabs(path) and os.path.isfile(path):  # this machine's key file, at the same path
                line += ["--volume", f"{path}:{path}:ro"]
        # The command's first word replaces the entrypoint, the rest goes before the args: one form
        # both engines read the same way (docker's --entrypoint takes no JSON list).
        command = list(pod.command)
        if command:
            line += ["--entrypoint", command[0]]
        line += [image, *command[1:], *pod.args]
        return line, env

    def run(self, pod: PodSpec, *, log_path: str, deadline: float | None, cancel: threading.Event) -> PodOutcome:
        """Run the pod's container to completion; stop it (SIGTERM, grace, SIGKILL) at the deadline or on cancel."""
        image = self.image or pod.image or ""
        self.check_image(image)
        scratch = make_scratch(self.scratch_root, pod.name)
        mounts = {POD_SCRATCH: scratch, **empty_dir_folders(scratch, pod.empty_dirs)}
        for path, text in pod.files.items():
            host = map_path(path, mounts)
            os.makedirs(os.path.dirname(host) or ".", exist_ok=True)
            with open(host, "w", encoding="utf-8") as handle:
                handle.write(text)
        _open_up(scratch)
        name = f"bridge-{uuid.uuid4().hex[:12]}"
        line, env = self.command(pod, scratch, name, mounts)
        process_env = {**os.environ, **env}
        os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
        with open(log_path, "ab") as log:
            try:
                process = subprocess.Popen(line, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=process_env)
            except OSError as error:
                log.write(f"bridge run: cannot start {self.engine}: {error}\n".encode())
                return PodOutcome(None, "StartError", f"failed to start container: {error}", {})
            reason, message = wait_pod(process, deadline, cancel, self.poll_seconds, lambda: self._stop(process, name))
        files = {path: read_file(map_path(path, mounts)) for path in pod.outputs}
        code = process.returncode
        if reason == "Completed" and code in ENGINE_ERRORS:
            return PodOutcome(None, "StartError", f"{ENGINE_ERRORS[code]} (exit code {code}, see the task log)", files)
        if reason == "Completed" and code != 0:
            reason, message = "Error", f"Error (exit code {code})"
        return PodOutcome(code, reason, message, files)

    def _stop(self, process: subprocess.Popen, name: str) -> None:
        """As the kubelet does: SIGTERM to the container's main process, SIGKILL after the grace period."""
        seconds = str(max(1, int(round(self.grace_seconds))))
        subprocess.run(self._engine("stop", "--time", seconds, name), capture_output=True, check=False)
        try:
            process.wait(timeout=self.grace_seconds + 30)
        except subprocess.TimeoutExpired:
            subprocess.run(self._engine("kill", name), capture_output=True, check=False)
            process.kill()
            process.wait()


def _open_up(folder: str) -> None:
    """Make the scratch volume (the emptyDir) and what the launcher placed in it writable by the pod's user."""
    os.chmod(folder, 0o777)
    for root, dirs, files in os.walk(folder):
        for entry in dirs:
            os.chmod(os.path.join(root, entry), 0o777)
        for entry in files:
            os.chmod(os.path.join(root, entry), 0o666)
