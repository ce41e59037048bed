"""The DAG file's folder (Airflow's dags folder when none is given) travels with it into sources/."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import DATA, load_dagbag, read_tree, split


def test_neighbour_module_is_copied_and_task_files_load(tmp_path: Path) -> None:
    out = split(DATA / "parity" / "parity_cleanup.py", tmp_path / "out")
    files = read_tree(out)
    assert files["sources/_compat.py"] == (DATA / "parity" / "_compat.py").read_bytes()
    assert not any(path.startswith("sources/") and "site-packages" in path for path in files)
    bag = load_dagbag(out / "dags" / "parity_cleanup" / "cleanup.py")
    assert bag.import_errors == {} and list(bag.dags) == ["parity_cleanup"]
