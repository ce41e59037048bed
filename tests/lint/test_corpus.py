"""Hostile but valid DAGs: each splits, and its output passes `bridge lint --strict`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.lint import lint_paths
from tests.helpers import load_workflow, run_cli

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.py"))


@pytest.mark.parametrize("dag_file", CORPUS, ids=lambda p: p.stem)
def test_hostile_dag_splits_and_lints_clean(dag_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("split", str(dag_file), "-o", str(out))
    assert result.exit_code == 0, result.output
    report = lint_paths([str(out)])
    assert report.files and [str(f) for f in report.findings] == []
    assert load_workflow(out)["kind"] == "Workflow"


def test_digit_ids_get_names_argo_accepts(tmp_path: Path) -> None:
    """Argo reads a task name that begins with a digit as a number in `depends`: names get a `t`."""
    out = tmp_path / "out"
    result = run_cli("split", str(Path(__file__).parent / "corpus" / "digit_ids.py"), "-o", str(out))
    assert result.exit_code == 0, result.output
    names = [t["name"] for t in load_workflow(out)["spec"]["templates"][0]["dag"]["tasks"]]
    assert all(not name[0].isdigit() for name in names), names
