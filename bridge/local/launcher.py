"""Running one pod's main container: the `Launcher` interface and the host-process launcher.

The engine describes a pod in container terms (`PodSpec`: command, args, env, files to place,
files to read back, all at container paths). A launcher makes that happen somewhere and
returns the exit code and the files. `HostLauncher` runs the command as a local process and
maps container paths onto host folders with `map_path`; `ContainerLauncher`
(bridge/local/container.py) mounts the scratch folder instead and keeps the paths as they are.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, Protocol

# Where the image keeps the split output folder (docs/DESIGN.md, images/Dockerfile).
BRIDGE_HOME = "/opt/bridge"
# bridge's pods mount an emptyDir at /tmp: every pod (attempt) starts with an empty /tmp.
POD_SCRATCH = "/tmp"
# Variables whose emitted value is a path into a mounted Secret (bridge split --gcp-key-secret):
# bridge run uses this machine's value instead, the file a developer already has, as it is.
LOCAL_FILE_VARIABLES = frozenset({"GOOGLE_APPLICATION_CREDENTIALS"})


@dataclass(frozen=True)
class PodSpec:
    """One attempt of a container template, fully substituted, in container paths."""

    name: str  # e.g. "extract" or "extract(1)", for messages and folder names
    command: tuple[str, ...]
    args: tuple[str, ...]
    env: Mapping[str, str]
    files: Mapping[str, str] = field(default_factory=dict)  # container path -> text (raw input artifacts)
    mounts: Mapping[str, str] = field(default_factory=dict)  # container path -> host folder, read-only (Secret volumes)
    outputs: tuple[str, ...] = ()  # container paths to read back after the run
    workdir: str | None = None
    image: str | None = None  # the template's container image (the host launcher ignores it)
    empty_dirs: tuple[str, ...] = ()  # container paths of emptyDir volumes besides /tmp: fresh folders per attempt


# The pod vanished (deleted, evicted, its node lost): it reported nothing (bridge run --lose-pod).
LOST = "Lost"


@dataclass(frozen=True)
class PodOutcome:
    """How the main container ended and the output files it left (None: file absent)."""

    exit_code: int | None  # None when the process never started
    reason: str  # Completed, Error, DeadlineExceeded, Cancelled, StartError, Lost (LOST)
    message: str
    files: Mapping[str, bytes | None]


class Launcher(Protocol):
    """Runs one pod to completion; must honour `deadline` (monotonic seconds) and `cancel`."""

    def run(self, pod: PodSpec, *, log_path: str, deadline: float | None, cancel: threading.Event) -> PodOutcome:
        """Run `pod`, appending its stdout and stderr to `log_path`."""
        ...


def map_path(text: str, mounts: Mapping[str, str], quoted: frozenset[str] = frozenset()) -> str:
    """Rewrite container paths in `text` (an argument, `--flag=/path`, a path) to host paths, in one pass.

    A path that names a file already on this machine is left as it is, even under a mount: a
    mount such as the pod's emptyDir `/tmp` starts empty, so a file that exists before the pod
    starts can only be a host file the command needs (an interpreter or script of a virtualenv
    or clone under /tmp). Folders and paths that do not exist yet are mapped. The mounts in
    `quoted` (Secret volumes) are also found right after a quote, as in a JSON value (a secrets
    backend's kwargs): a quoted `/tmp/…` stays as it is, since code and connection JSON name host
    files that way.
    """
    if not mounts:
        return text
    prefixes = sorted((p.rstrip("/") for p in mounts), key=len, reverse=True)
    hosts = {p.rstrip("/"): h.rstrip("/") for p, h in mounts.items()}
    in_quotes = {p.rstrip("/") for p in quoted}
    # A mount counts only as whole path components at the start or after '=' / ':' / whitespace (or
    # a quote, for `quoted` ones); the rest of the path runs to the next separator of that kind.
    pattern = re.compile(r"(^|[=:\s\"'])(" + "|".join(re.escape(p) for p in prefixes) + r")(?=/|$|[\s\"'])([^=:\s\"']*)")

    def replace(match: re.Match[str]) -> str:
        path = match.group(2) + match.group(3)
        if os.path.isfile(path) or (match.group(1) in ("'", '"') and match.group(2) not in in_quotes):
            return match.group(0)
        return match.group(1) + hosts[match.group(2)] + match.group(3)

    return pattern.sub(replace, text)


def resolve_command(name: str) -> str:
    """A bare command name: the console script next to this interpreter (same venv) first, then PATH."""
    if os.sep in name:
        return name
    beside = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which(name) or name


class HostLauncher:
    """Runs the container command as a local process; /opt/bridge -> split dir, /tmp -> fresh scratch dir."""

    def __init__(
        self,
        split_dir: str,
        scratch_root: str,
        *,
        grace_seconds: float = 30.0,
        poll_seconds: float = 0.05,
        base_env: Mapping[str, str] | None = None,
    ):
        # base_env: what every process inherits (a developer's AIRFLOW_CONN_*/AIRFLOW_VAR_* stand in for
        # the Secrets); default: this process's environment at launch time.
        self.base_env = dict(base_env) if base_env is not None else None
        self.split_dir = os.path.abspath(split_dir)
        self.scratch_root = os.path.abspath(scratch_root)
        self.grace_seconds = grace_seconds
        self.poll_seconds = poll_seconds

    def mounts(self, scratch: str, volumes: Mapping[str, str] | None = None) -> dict[str, str]:
        """Container prefix -> host folder for one pod (and its Secret volumes' stand-ins)."""
        return {**(volumes or {}), BRIDGE_HOME: self.split_dir, POD_SCRATCH: scratch}

    def run(self, pod: PodSpec, *, log_path: str, deadline: float | None, cancel: threading.Event) -> PodOutcome:
        """Run the pod as a process in its own session, killing it at the deadline or on cancel."""
        scratch = make_scratch(self.scratch_root, pod.name)
        mounts = {**self.mounts(scratch, pod.mounts), **empty_dir_folders(scratch, pod.empty_dirs)}
        for path, text in pod.files.items():
            host = map_path(path, mounts)
            os.makedirs(os.path.dirname(host) or ".", exist_ok=True)
            with open(host, "w", encoding="utf-8") as handle:
                handle.write(text)
        volumes = frozenset(pod.mounts)
        command = [map_path(part, mounts, volumes) for part in (*pod.command, *pod.args)]
        if command:
            command[0] = resolve_command(command[0])
        env = dict(self.base_env if self.base_env is not None else os.environ)
        # What the image sets (images/Dockerfile) and what an emptyDir /tmp means for a process.
        env.update(
            {
                "BRIDGE_HOME": self.split_dir,
                "TMPDIR": scratch,
                "AIRFLOW_HOME": os.path.join(scratch, "airflow"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update({key: value if key in LOCAL_FILE_VARIABLES else map_path(value, mounts, volumes) for key, value in pod.env.items()})
        workdir = map_path(pod.workdir, mounts) if pod.workdir else scratch
        os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
        with open(log_path, "ab") as log:
            try:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=workdir,
                    start_new_session=True,
                )
            except OSError as error:
                log.write(f"bridge run: cannot start {command[:1]}: {error}\n".encode())
                return PodOutcome(None, "StartError", f"failed to start container: {error}", {})
            reason, message = wait_pod(process, deadline, cancel, self.poll_seconds, lambda: self._kill(process))
        # A container's processes all end with it; do not leave the task's children running.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        files = {path: read_file(map_path(path, mounts)) for path in pod.outputs}
        code = process.returncode
        if reason == "Completed" and code != 0:
            reason, message = "Error", f"Error (exit code {code})"
        return PodOutcome(code, reason, message, files)

    def _kill(self, process: subprocess.Popen) -> None:
        """As the kubelet does: SIGTERM to the main process, SIGKILL to everything after the grace period."""
        try:
            process.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=self.grace_seconds)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()


def wait_pod(
    process: subprocess.Popen, deadline: float | None, cancel: threading.Event, poll_seconds: float, stop: Callable[[], None]
) -> tuple[str, str]:
    """Wait for the pod's process; at the deadline or on cancel call `stop` (SIGTERM, grace, SIGKILL). (reason, message)."""
    while True:
        try:
            process.wait(timeout=poll_seconds)
            return "Completed", ""
        except subprocess.TimeoutExpired:
            pass
        if cancel.is_set():
            stop()
            return "Cancelled", "Stopped: the run was interrupted"
        if deadline is not None and time.monotonic() >= deadline:
            stop()
            return "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"


def empty_dir_folders(scratch: str, paths: tuple[str, ...]) -> dict[str, str]:
    """A new folder inside the pod's scratch folder for each emptyDir mount path (a native pod's
    /airflow/xcom, a volume its containers share), container path -> host folder."""
    folders = {}
    for number, path in enumerate(paths):
        folder = os.path.join(scratch, ".volumes", f"{number}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', path).strip('-')}")
        os.makedirs(folder, exist_ok=True)
        folders[path] = folder
    return folders


def make_scratch(root: str, name: str) -> str:
    """A new, empty folder under `root` for one pod attempt (the pod's emptyDir)."""
    safe = re.sub(r"[^A-Za-z0-9_.()-]+", "-", name) or "pod"
    os.makedirs(root, exist_ok=True)
    for n in range(1, 10000):
        path = os.path.join(root, safe if n == 1 else f"{safe}.{n}")
        try:
            os.makedirs(path)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot create a scratch folder for {name!r} under {root}")


def read_file(path: str) -> bytes | None:
    """A file's bytes, None when it is absent (an output the pod did not write)."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
