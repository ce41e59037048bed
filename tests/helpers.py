"""Test helpers: run the CLI in-process, load emitted DAG files with Airflow, validate against Argo."""

from __future__ import annotations

import ast
import functools
import json
import os
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from bridge.names import argo_name

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
# Argo's published schema and CRDs, vendored (tests/data/argo/README.md): tests read nothing outside the repository.
# The newest (v4.1.2) is what every test validates against; the older lines' newest patch releases
# are what `bridge split --argo-version` output is validated against (tests/test_argo_versions.py).
ARGO_NEWEST = "v4.1.2"
ARGO_RELEASES = ("v3.6.19", "v3.7.18", "v4.0.10", ARGO_NEWEST)
ARGO_DATA = DATA / "argo" / ARGO_NEWEST
ARGO_CRDS = {
    "Workflow": "crd-workflows.yaml.gz",
    "CronWorkflow": "crd-cronworkflows.yaml.gz",
    "WorkflowTemplate": "crd-workflowtemplates.yaml.gz",
}


def airflow_major() -> int:
    """2 or 3, from the installed Airflow (bridge's one flag)."""
    from bridge.version_compat import AIRFLOW_MAJOR

    return AIRFLOW_MAJOR


def run_cli(*args: str) -> Result:
    """Invoke `bridge` in-process and return click's result (exit code, output)."""
    from bridge.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def run_cli_bound_by_permissions(*args: str) -> tuple[int, str]:
    """Run `bridge` in a subprocess that file permissions bind, even as root (CI runs as root).

    As root, `setpriv` drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH before the exec, so a
    mode-0 file or a read-only folder is refused as it would be for any user. Returns
    (exit code, stdout + stderr).
    """
    import shutil
    import subprocess
    import sys

    command = [sys.executable, "-m", "bridge.cli", *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test permissions as root"
        caps = "-dac_override,-dac_read_search"
        command = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    return done.returncode, done.stdout + done.stderr


def split(dag_file: str | Path, out: Path, *extra: str) -> Path:
    """Run `bridge split` and fail the test with its output if it did not succeed."""
    result = run_cli("split", str(dag_file), "-o", str(out), *extra)
    assert result.exit_code == 0, result.output
    return out


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under root, keyed by its relative POSIX path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def load_workflow(out: Path) -> dict[str, Any]:
    """The single Workflow document an output folder holds."""
    (path,) = sorted((out / "workflows").glob("*.yaml"))
    return yaml.safe_load(path.read_text())


def dag_tasks(workflow: dict[str, Any], *, verdict: bool = False) -> dict[str, dict[str, Any]]:
    """The entrypoint DAG's tasks by name (without the verdict node unless asked)."""
    main = next(t for t in workflow["spec"]["templates"] if t["name"] == workflow["spec"]["entrypoint"])
    return {t["name"]: t for t in main["dag"]["tasks"] if verdict or t["template"] != "airflow-dagrun"}


def task_ids(out: Path) -> dict[str, str]:
    """Airflow task id -> Argo task name, from the output folder's task files (`dags/<dag>/<name>.py`,
    each naming its task): the Workflow carries only the names."""
    found = {}
    for path in sorted((out / "dags").glob("*/*.py")):
        call = next(node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call))
        task_id = next(k.value for k in call.keywords if k.arg == "task_id")
        found[ast.literal_eval(task_id)] = path.stem
    return found


def templates(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """All templates by name."""
    return {t["name"]: t for t in workflow["spec"]["templates"]}


def task_template(workflow: dict[str, Any], task_id: str) -> dict[str, Any]:
    """The container template of the DAG task that runs Airflow task `task_id` (named argo_name(task_id):
    the tests' ids are distinct after it)."""
    name = argo_name(task_id)
    return templates(workflow)[dag_tasks(workflow)[name]["template"]]


def load_dagbag(path: Path) -> Any:
    """A real Airflow DagBag over a file or folder, without examples (bridge's own loader settings)."""
    from bridge.airflow.compat import make_dagbag

    return make_dagbag(str(path))


@functools.cache
def argo_schema(release: str = ARGO_NEWEST) -> dict[str, Any]:
    """Argo's published JSON schema of `release` (vendored; the older ones gzipped)."""
    import gzip

    folder = DATA / "argo" / release
    if (folder / "schema.json").exists():
        return json.loads((folder / "schema.json").read_text())
    with gzip.open(folder / "schema.json.gz", "rt", encoding="utf-8") as handle:
        return json.load(handle)


@functools.cache
def argo_crd_schema(kind: str, release: str = ARGO_NEWEST) -> dict[str, Any]:
    """The openAPIV3Schema of Argo's full CRD for `kind` in `release` (vendored): what a cluster validates."""
    import gzip

    with gzip.open(DATA / "argo" / release / ARGO_CRDS[kind], "rt", encoding="utf-8") as handle:
        crd = yaml.safe_load(handle)
    (version,) = crd["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].split("/")[-1]
        node = schema["definitions"][name]
    return node


def unknown_fields(schema: dict[str, Any], node: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """Paths of keys the schema does not define (Argo's schema itself allows them silently)."""
    node = _resolve(schema, node)
    found: list[str] = []
    if isinstance(value, dict):
        properties = node.get("properties")
        extra = node.get("additionalProperties")
        for key, item in value.items():
            if properties is not None and key in properties:
                found += unknown_fields(schema, properties[key], item, f"{path}.{key}")
            elif isinstance(extra, dict):
                found += unknown_fields(schema, extra, item, f"{path}.{key}")
            elif properties is not None:
                found.append(f"{path}.{key}")
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for index, item in enumerate(value):
            found += unknown_fields(schema, node["items"], item, f"{path}[{index}]")
    return found


@functools.cache
def _validator(kind: str, crd: bool, release: str) -> Any:
    """A jsonschema validator for `kind`, built once (checking a 2 MB schema on every call costs seconds)."""
    import jsonschema

    if crd:
        schema = argo_crd_schema(kind, release)
    else:
        definitions = argo_schema(release)["definitions"]
        schema = {"$ref": f"#/definitions/io.argoproj.workflow.v1alpha1.{kind}", "definitions": definitions}
    return jsonschema.validators.validator_for(schema)(schema)


def validate_argo(document: dict[str, Any], release: str = ARGO_NEWEST) -> None:
    """Validate one Argo object against Argo's JSON schema and, for the kinds with one, its CRD; unknown fields too.

    The CRD check is the cluster's structural schema (types, required fields, enums; unknown fields
    are what `kubectl apply`'s default strict field validation refuses); its CEL rules
    (x-kubernetes-validations) are not evaluated here.
    """
    import jsonschema

    kind = document["kind"]
    for crd in (False, True) if kind in ARGO_CRDS else (False,):
        validator = _validator(kind, crd, release)
        error = jsonschema.exceptions.best_match(validator.iter_errors(document))
        if error is not None:
            raise error
        schema = argo_schema(release) if not crd else {}
        unknown = unknown_fields(schema, validator.schema, document)
        where = f"Argo {release}'s {kind} CRD" if crd else f"Argo {release}'s schema"
        assert not unknown, f"fields outside {where}: {unknown}"


def env_without(*prefixes: str) -> dict[str, str]:
    """The environment minus variables starting with any prefix."""
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
