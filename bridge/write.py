"""The only code that writes the output folder: all or nothing (a failure leaves it as it was), never over a user's edits."""

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
    """Write `files` under `root`, all or nothing; return the paths that changed (stale ones removed)."""
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
    """Swap changed files in and stale files out with renames, keeping every replaced file until all are in.

    The folder may hold files that are not bridge's (a repository root), so it cannot be swapped as
    a whole. Instead every changed file is first written in full to a staging folder inside `root`
    (same file system, so each move is a rename); then each old file is renamed aside into the
    staging folder and the new one renamed into place, with a journal of what was moved. Any
    failure rolls the journal back: the folder is left exactly as it was. Unchanged files are untouched.
    """
    changed = [rel for rel, data in sorted(files.items()) if _read(os.path.join(root, rel)) != data]
    staging = tempfile.mkdtemp(prefix=".bridge-", dir=root)
    new, old = os.path.join(staging, "new"), os.path.join(staging, "old")
    journal: list[tuple[str, bool]] = []  # (path, whether an old file was moved aside), in order
    created: list[str] = []  # folders made under root for new files
    try:
        for rel in changed:
            _write_file(os.path.join(new, rel), files[rel])
        for rel in changed + stale:
            target = os.path.join(root, rel)
            had = os.path.lexists(target)
            if had:
                created += _make_folders(os.path.dirname(os.path.join(old, rel)))
                os.replace(target, os.path.join(old, rel))
            journal.append((rel, had))
            if rel in files:
                created += _make_folders(os.path.dirname(target))
                os.replace(os.path.join(new, rel), target)
    except BaseException as exc:
        _roll_back(root, old, journal, created)
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            what = exc.filename or root
            raise OutputError(
                f"cannot write {what}: {exc.strerror or exc}; the folder was left as it was", location=root
            ) from None
        raise
    shutil.rmtree(staging, ignore_errors=True)
    for rel in stale:
        _remove_empty_parents(os.path.dirname(os.path.join(root, rel)), root)
    return changed + stale


def _make_folders(folder: str) -> list[str]:
    """os.makedirs, returning the folders it created (outermost first)."""
    missing = []
    while folder and not os.path.isdir(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for path in reversed(missing):
        os.mkdir(path)
    return list(reversed(missing))


def _roll_back(root: str, old: str, journal: list[tuple[str, bool]], created: list[str]) -> None:
    """Undo `_update_folder`'s moves, newest first: remove what was put in place, restore what was moved aside."""
    for rel, had in reversed(journal):
        target = os.path.join(root, rel)
        if had:
            os.replace(os.path.join(old, rel), target)
        elif os.path.lexists(target):
            os.remove(target)
    for folder in reversed(created):
        if folder.startswith(os.path.join(root, "")) and not folder.startswith(old) and os.path.isdir(folder):
            try:
                os.rmdir(folder)
            except OSError:  # not empty: it held something before the roll-back began
                pass


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
