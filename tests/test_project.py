"""Whole projects: `bridge split PATH` of a dags folder, the files it carries, and how it refuses bad folders.

The runtime behaviour (templates found or not found, plugins, parity with `airflow dags test`) is
checked against Airflow itself here and in tests/parity/test_project.py on the example project.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.helpers import read_tree, run_cli, split, validate_argo
from tests.parity.test_project import airflow_dags_test_project

IMPORTS = """\
try:
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.bash import BashOperator
    from airflow.operators.empty import EmptyOperator
import pendulum
from airflow import DAG
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    return root


def _dag(dag_id: str, body: str, *, schedule: str = "None", extra: str = "") -> str:
    return IMPORTS + extra + textwrap.dedent(f"""
        with DAG({dag_id!r}, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule={schedule}, catchup=False) as dag:
        """) + textwrap.indent(textwrap.dedent(body), "    ")


def airflow_dags_test_folder(dags: Path, dag_id: str, tmp_path: Path, plugins: Path | None = None) -> dict:
    """The reference: `airflow dags test` with this dags folder (and plugins folder) as Airflow's own."""
    return airflow_dags_test_project(dags, plugins, dag_id, tmp_path / f"reference-{dag_id}", connections={})


def _bridge_run(path: Path, dag_id: str, tmp_path: Path, *extra: str) -> dict:
    report = tmp_path / f"{dag_id}-report.json"
    bridge = str(Path(sys.executable).with_name("bridge"))
    done = subprocess.run(
        [bridge, "run", str(path), "--dag-id", dag_id, "--run-date", "2024-01-02", "--report", str(report),
         "--retry-delay-scale", "0", *extra],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(report.read_text())


# --------------------------------------------------------------------------- template files, as Airflow


def test_a_template_file_beside_the_dag_is_found_as_airflow_finds_it(tmp_path: Path) -> None:
    """The issue's report: `bash_command="sql/show.sh"` failed in the pod with TemplateNotFound."""
    dags = _write(tmp_path / "dags", {
        "show.py": _dag("show_template", 'BashOperator(task_id="show", bash_command="sql/show.sh")\n'),
        "sql/show.sh": 'echo "ds is {{ ds }}"\n',
    })
    ours = _bridge_run(dags / "show.py", "show_template", tmp_path)
    reference = airflow_dags_test_folder(dags, "show_template", tmp_path)
    assert ours["tasks"] == reference["tasks"] == {"show": "success"}


def test_an_ignored_template_fails_the_same_way_in_both(tmp_path: Path) -> None:
    """A template `.airflowignore` hides is not carried: the task fails as under `airflow dags test` without it."""
    dags = _write(tmp_path / "dags", {
        "show.py": _dag("hidden_template", 'BashOperator(task_id="show", bash_command="private/show.sh")\n'),
        "private/show.sh": "echo hidden\n",
        ".airflowignore": "private\n",
    })
    out = split(dags, tmp_path / "out")
    assert "sources/private/show.sh" not in read_tree(out)
    ours = _bridge_run(dags, "hidden_template", tmp_path)
    reference = airflow_dags_test_folder(dags, "hidden_template", tmp_path)
    assert reference["tasks"] == {"show": "success"}  # Airflow's Jinja loader does not read .airflowignore
    assert ours["tasks"] == {"show": "failed"}  # bridge carries nothing Airflow's walk ignores (docs/DESIGN.md)


# --------------------------------------------------------------------------- what a folder split carries


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A small repository: helpers at the dags root, a DAG in a subfolder, templates, noise Airflow never reads."""
    root = tmp_path / "repo"
    _write(root, {
        "dags/common/__init__.py": "",
        "dags/common/naming.py": "def prefix(name):\n    return 'wh_' + name\n",
        "dags/daily.py": _dag("daily", """\
            load = BashOperator(task_id="load", bash_command="scripts/load.sh")
            load >> EmptyOperator(task_id="done")
            """, schedule='"0 3 * * *"'),
        "dags/reporting/weekly.py": _dag("weekly", """\
            EmptyOperator(task_id=prefix("report"))
            """, schedule='"0 4 * * 1"', extra="from common.naming import prefix\n"),
        "dags/scripts/load.sh": "echo loading {{ ds }}\n",
        "dags/config/tables.yaml": "tables: [a, b]\n",
        "dags/scratch_notes.py": "raise RuntimeError('a scratch file Airflow never parses')\n",
        "dags/.airflowignore": "scratch_*\n",  # the same files in both syntaxes (regexp on Airflow 2, glob on 3)
        "dags/.git/config": "[core]\n",
        "dags/common/__pycache__/naming.cpython-311.pyc": "compiled",
        "requirements.txt": "PyYAML\n",
        "packages.txt": "# Debian packages\njq\n",
    })
    return root


def test_a_dags_folder_splits_every_dag_into_one_output(project: Path, tmp_path: Path) -> None:
    out = split(project / "dags", tmp_path / "out")
    files = read_tree(out)
    carried = sorted(path for path in files if path.startswith("sources/"))
    assert carried == [
        "sources/common/__init__.py", "sources/common/naming.py", "sources/config/tables.yaml", "sources/daily.py",
        "sources/reporting/weekly.py", "sources/scripts/load.sh",
    ]
    assert sorted(p for p in files if p.startswith("workflows/")) == ["workflows/daily.yaml", "workflows/weekly.yaml"]
    assert sorted(p for p in files if p.startswith("images/")) == [
        "images/Dockerfile", "images/packages.txt", "images/project-requirements.txt", "images/requirements.txt",
    ]
    dockerfile = files["images/Dockerfile"].decode()
    assert "the Airflow project 'repo' (2 DAGs)" in dockerfile
    assert "-r /opt/bridge/images/project-requirements.txt" in dockerfile and "apt-get install" in dockerfile
    assert files["images/project-requirements.txt"] == b"PyYAML\n"
    for name in ("daily", "weekly"):
        workflow = yaml.safe_load(files[f"workflows/{name}.yaml"])
        validate_argo(workflow)
        images = {t["container"]["image"] for t in workflow["spec"]["templates"] if "container" in t}
        assert images == {"bridge/repo:latest"}
    kustomization = yaml.safe_load(files["kustomization.yaml"])
    assert kustomization["resources"] == ["cronjobs/daily.yaml", "cronjobs/weekly.yaml"]


def test_task_files_of_a_subfolder_dag_import_helpers_from_the_dags_root(project: Path, tmp_path: Path) -> None:
    """The pod puts the dags folder (sources/) on sys.path as Airflow does, not the DAG file's own folder."""
    out = split(project / "dags", tmp_path / "out")
    task_file = out / "dags" / "weekly" / "wh-report.py"
    code = (
        "from bridge.airflow.compat import make_dagbag; "
        f"bag = make_dagbag({str(task_file)!r}); print(sorted(bag.import_errors.values()), sorted(bag.dags))"
    )
    # A fresh interpreter: nothing but the task file puts the dags folder on sys.path.
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[] ['weekly']"


def test_dag_id_selects_and_resplitting_rewrites_only_the_edited_dag(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    only = run_cli("split", str(project / "dags"), "--dag-id", "weekly", "-o", str(tmp_path / "one"))
    assert only.exit_code == 0, only.output
    assert sorted(p for p in read_tree(tmp_path / "one") if p.startswith("workflows/")) == ["workflows/weekly.yaml"]
    split(project / "dags", out)
    before = read_tree(out)
    daily = project / "dags" / "daily.py"
    daily.write_text(daily.read_text().replace('"0 3 * * *"', '"0 5 * * *"'))
    split(project / "dags", out)
    after = read_tree(out)
    changed = sorted(path for path in after if before.get(path) != after[path])
    assert changed == [".bridge-manifest.json", "cronjobs/daily.yaml", "sources/daily.py", "workflows/daily.yaml"]


def test_shared_pools_are_written_once_and_kustomize_renders_the_project(tmp_path: Path) -> None:
    body = 'EmptyOperator(task_id="call", pool="api")\n'
    dags = _write(tmp_path / "dags", {
        "one.py": _dag("one", body, schedule='"@daily"'),
        "two.py": _dag("two", body + 'EmptyOperator(task_id="other", pool="api")\n', schedule="None"),
    })
    out = split(dags, tmp_path / "out", "--pool-slots", "api=3")
    files = read_tree(out)
    assert "sync/pools.yaml" in files and "sync/one.yaml" not in files and "sync/two.yaml" not in files
    cronjob = list(yaml.safe_load_all(files["cronjobs/one.yaml"]))
    assert not [doc for doc in cronjob if doc["kind"] == "ConfigMap" and "bridge.dev/pool" in doc["metadata"].get("annotations", {})]
    kustomization = yaml.safe_load(files["kustomization.yaml"])
    assert kustomization["resources"] == ["cronjobs/one.yaml", "sync/pools.yaml"]
    kubectl = shutil.which("kubectl")
    if kubectl is None:  # the renderer's own check: every listed file exists and no object is listed twice
        documents = [doc for rel in kustomization["resources"] for doc in yaml.safe_load_all(files[rel]) if doc]
    else:
        rendered = subprocess.run([kubectl, "kustomize", str(out)], capture_output=True, text=True, timeout=120, check=False)
        assert rendered.returncode == 0, rendered.stderr
        documents = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    ids = [(doc["kind"], doc["metadata"]["name"]) for doc in documents]
    assert len(ids) == len(set(ids))
    assert ("ConfigMap", "bridge-pool-api") in ids or any(kind == "ConfigMap" and "pool" in name for kind, name in ids)
    for doc in documents:
        if doc["apiVersion"].startswith("argoproj.io/"):
            validate_argo(doc)


# --------------------------------------------------------------------------- bad folders


def test_every_broken_file_is_listed_and_nothing_is_written(tmp_path: Path) -> None:
    dags = _write(tmp_path / "dags", {
        "good.py": _dag("good", 'EmptyOperator(task_id="ok")\n'),
        "syntax.py": "from airflow import DAG\ndef broken(:\n",
        "missing.py": "from airflow import DAG\nimport no_such_module_anywhere\n",
    })
    out = tmp_path / "out"
    result = run_cli("split", str(dags), "-o", str(out))
    assert result.exit_code == 1
    assert "2 of 3 DAG files cannot be loaded" in result.output
    assert f"{dags}/syntax.py:2: syntax error" in result.output
    assert f"{dags}/missing.py:2: import error: ModuleNotFoundError" in result.output
    assert not out.exists()
    skipped = run_cli("split", str(dags), "-o", str(out), "--skip-broken")
    assert skipped.exit_code == 0, skipped.output
    assert sorted(p for p in read_tree(out) if p.startswith("workflows/")) == ["workflows/good.yaml"]
    assert skipped.output.count("skipped (--skip-broken)") == 2


def test_one_dag_id_in_two_files_is_refused_naming_both(tmp_path: Path) -> None:
    dags = _write(tmp_path / "dags", {
        "a.py": _dag("same", 'EmptyOperator(task_id="from_a")\n'),
        "b.py": _dag("same", 'EmptyOperator(task_id="from_b")\n'),
    })
    result = run_cli("split", str(dags), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert f"dag_id 'same' is defined in {dags}/a.py and {dags}/b.py" in result.output
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- plugins and template_searchpath


def test_plugins_and_outside_template_folders_are_carried_and_remapped(tmp_path: Path) -> None:
    root = _write(tmp_path / "repo", {
        "dags/report.py": _dag("report", """\
            from house_ops import HouseOperator
            HouseOperator(task_id="house", sql="query.sql")
            """, extra=textwrap.dedent("""\
            import os
            INCLUDE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "include")
            """)).replace("catchup=False)", "catchup=False, template_searchpath=[INCLUDE])"),
        "include/query.sql": "select '{{ ds }}'\n",
        "plugins/house_ops.py": textwrap.dedent("""\
            try:
                from airflow.sdk import BaseOperator
            except ImportError:
                from airflow.models.baseoperator import BaseOperator


            class HouseOperator(BaseOperator):
                template_fields = ("sql",)
                template_ext = (".sql",)

                def __init__(self, sql, **kwargs):
                    super().__init__(**kwargs)
                    self.sql = sql

                def execute(self, context):
                    assert self.sql.strip() == "select '" + context["ds"] + "'", self.sql
                    return self.sql.strip()
            """),
    })
    out = split(root / "dags", tmp_path / "out")
    files = read_tree(out)
    assert files["searchpath/include/query.sql"] == b"select '{{ ds }}'\n"
    assert files["plugins/house_ops.py"] == (root / "plugins" / "house_ops.py").read_bytes()
    assert "template_searchpath=('../../searchpath/include',)" in files["dags/report/house.py"].decode()
    assert "COPY plugins/ /opt/bridge/plugins/" in files["images/Dockerfile"].decode()
    ours = _bridge_run(root / "dags", "report", tmp_path)
    reference = airflow_dags_test_folder(root / "dags", "report", tmp_path, root / "plugins")
    assert ours["tasks"] == reference["tasks"] == {"house": "success"}


def test_a_file_inside_a_named_dags_folder_and_backfill_take_the_same_forms(project: Path, tmp_path: Path) -> None:
    """`PATH --dags-folder DIR`: one file of the project, with the project's root on sys.path and its files."""
    weekly = project / "dags" / "reporting" / "weekly.py"
    bridge = str(Path(sys.executable).with_name("bridge"))  # a fresh interpreter: no `common` imported before
    alone = subprocess.run([bridge, "split", str(weekly), "-o", str(tmp_path / "alone")], capture_output=True,
                           text=True, timeout=300, check=False)
    assert alone.returncode == 1 and "No module named 'common'" in alone.stderr  # as Airflow with that dags folder
    out = split(weekly, tmp_path / "out", "--dags-folder", str(project / "dags"))
    files = read_tree(out)
    assert "sources/common/naming.py" in files and "source='../../sources/reporting/weekly.py'" in files[
        "dags/weekly/wh-report.py"].decode()
    (tmp_path / "elsewhere").mkdir()
    outside = run_cli("split", str(weekly), "--dags-folder", str(tmp_path / "elsewhere"), "-o", str(tmp_path / "x"))
    assert outside.exit_code == 1 and f"{weekly}: is not inside the dags folder" in outside.output
    backfill = run_cli("backfill", str(project / "dags"), "--dag-id", "weekly", "--start", "2024-01-01",
                       "--end", "2024-01-15")
    assert backfill.exit_code == 0, backfill.output
    commands = [line for line in backfill.output.splitlines() if line.startswith("argo submit")]
    assert len(commands) == 2 and all("workflows/weekly.yaml" in line for line in commands)
    several = run_cli("backfill", str(project / "dags"), "--start", "2024-01-01", "--end", "2024-01-02")
    assert several.exit_code == 1 and "choose one with --dag-id" in several.output
