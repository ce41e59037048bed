"""The only code that writes the output folder: all or nothing, never over a user's edits."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile

from bridge import __version__
from bridge.errors import OutputError

MANIFEST = ".bridge-manifest.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _manifest(root: str) -> dict[str, str]:
    """Files bridge wrote last time, with their hashes (empty if none or unreadable)."""
    data = _read(os.path.join(root, MANIFEST))
    if data is None:
        return {}
    try:
        files = json.loads(data).get("files", {})
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def render_manifest(files: dict[str, bytes]) -> bytes:
    """The manifest text for a set of files: sorted, no timestamps."""
    body = {"generator": f"bridge {__version__}", "files": {p: _sha256(d) for p, d in sorted(files.items())}}
    return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode()


def check_output(root: str, files: dict[str, bytes], force: bool) -> list[str]:
    """Refuse to clobber a file bridge did not write or that was edited; return stale paths."""
    if os.path.exists(root) and not os.path.isdir(root):
        raise OutputError("exists and is not a folder; choose another -o", location=root)
    previous = _manifest(root)
    if not force:
        for rel in sorted((set(files) | set(previous)) - {MANIFEST}):
            current = _read(os.path.join(root, rel))
            if current is None or (rel in files and current == files[rel]):
                continue
            if previous.get(rel) != _sha256(current):
                what = "was edited since bridge wrote it" if rel in previous else "was not written by bridge"
                raise OutputError(
                    f"{rel} {what}; keep your change elsewhere, or pass --force to overwrite it",
                    location=root,
                )
    return sorted(rel for rel in previous if rel not in files)


def _check_writable(root: str) -> None:
    parent = root if os.path.isdir(root) else os.path.dirname(os.path.abspath(root))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write into {parent}: permission denied; choose another -o", location=root)


def write_output(root: str, files: dict[str, bytes], *, force: bool = False) -> list[str]:
    """Write `files` under `root` atomically per file; return the paths that changed."""
    files = dict(files)
    files[MANIFEST] = render_manifest({k: v for k, v in files.items() if k != MANIFEST})
    stale = check_output(root, files, force)
    _check_writable(root)
    if not os.path.exists(root):
        _write_new_folder(root, files)
        return sorted(files)
    return _update_folder(root, files, stale)


def _write_new_folder(root: str, files: dict[str, bytes]) -> None:
    """Stage the whole folder beside its destination, then rename it into place."""
    parent = os.path.dirname(os.path.abspath(root))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".bridge-", dir=parent)
    try:
        for rel, data in files.items():
            _write_file(os.path.join(staging, rel), data)
        os.rename(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _update_folder(root: str, files: dict[str, bytes], stale: list[str]) -> list[str]:
    """Stage changed files inside `root`, then move each into place; unchanged files are untouched."""
    changed = [rel for rel, data in sorted(files.items()) if _read(os.path.join(root, rel)) != data]
    staging = tempfile.mkdtemp(prefix=".bridge-", dir=root)
    try:
        for rel in changed:
            _write_file(os.path.join(staging, rel), files[rel])
        for rel in changed:
            target = os.path.join(root, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(os.path.join(staging, rel), target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for rel in stale:
        target = os.path.join(root, rel)
        if os.path.exists(target):
            os.remove(target)
            _remove_empty_parents(os.path.dirname(target), root)
    return changed + stale


def _remove_empty_parents(folder: str, root: str) -> None:
    root = os.path.abspath(root)
    folder = os.path.abspath(folder)
    while folder != root and folder.startswith(root) and not os.listdir(folder):
        os.rmdir(folder)
        folder = os.path.dirname(folder)


def _write_file(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
