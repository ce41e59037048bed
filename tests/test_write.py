"""bridge/write.py: all or nothing. A failure at any point of an update leaves the folder exactly as it was."""

from __future__ import annotations

import builtins
import errno
import os
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import OutputError
from bridge.write import write_output

FIRST = {"a/one.txt": b"1", "b/two.txt": b"2", "stale.txt": b"s", "c/d/gone.txt": b"g"}
SECOND = {"a/one.txt": b"1 new", "b/two.txt": b"2", "e/f/three.txt": b"3"}  # one changed, one new, two stale


def snapshot(root: Path) -> tuple[dict[str, bytes], list[str]]:
    """Every file with its bytes and every folder, hidden ones included."""
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    folders = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir())
    return files, folders


def prepared(tmp_path: Path) -> Path:
    root = tmp_path / "out"
    write_output(str(root), FIRST)
    (root / "README.md").write_bytes(b"not bridge's")  # output folders can hold other files (a repository root)
    return root


def failing_on(call: int, real: Any) -> Any:
    counter = {"n": 0}

    def replacement(*args: Any, **kwargs: Any) -> Any:
        counter["n"] += 1
        if counter["n"] == call:
            raise OSError(errno.EIO, "Input/output error", str(args[-1]))
        return real(*args, **kwargs)

    return replacement


def test_update_writes_and_removes_stale_files(tmp_path: Path) -> None:
    root = prepared(tmp_path)
    changed = write_output(str(root), SECOND)
    files, folders = snapshot(root)
    assert {k: v for k, v in files.items() if k != ".bridge-manifest.json"} == {**SECOND, "README.md": b"not bridge's"}
    assert "c" not in folders and not [f for f in folders if f.startswith(".bridge-")]
    assert sorted(changed) == sorted([".bridge-manifest.json", "a/one.txt", "c/d/gone.txt", "e/f/three.txt", "stale.txt"])


def test_a_rename_failing_at_any_point_leaves_the_folder_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = prepared(tmp_path)
    before = snapshot(root)
    real = os.replace
    call = 0
    while True:
        call += 1
        monkeypatch.setattr(os, "replace", failing_on(call, real))
        try:
            write_output(str(root), SECOND)
        except (OSError, OutputError) as error:
            monkeypatch.setattr(os, "replace", real)
            assert snapshot(root) == before, f"rename {call} failed and the folder changed"
            assert isinstance(error, OutputError) and "left as it was" in str(error)
            continue
        monkeypatch.setattr(os, "replace", real)
        break
    assert call > 5  # every rename of the update was made to fail once
    assert snapshot(root)[0]["a/one.txt"] == b"1 new"


def test_a_write_failing_while_staging_leaves_the_folder_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = prepared(tmp_path)
    before = snapshot(root)
    real = builtins.open

    def failing_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "w" in mode and str(file).endswith("three.txt"):
            raise OSError(errno.ENOSPC, "No space left on device", str(file))
        return real(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", failing_open)
    with pytest.raises(OutputError, match="No space left on device"):
        write_output(str(root), SECOND)
    monkeypatch.setattr(builtins, "open", real)
    assert snapshot(root) == before
