"""No secret in output: credentials in the environment, read by the DAG file or put in its defaults, never reach a file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import ROOT, read_tree, run_cli

SECRETS = {
    "AIRFLOW_CONN_WAREHOUSE": "postgres://etl:Wh-pass-7781@warehouse.internal:5432/sales",
    "AIRFLOW_CONN_API": '{"conn_type": "http", "password": "api-pass-5512"}',
    "AIRFLOW_VAR_API_TOKEN": "tok-9f8e7d6c5b4a",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE12345678",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-0a1b2c3d4e5f",
    "AWS_SESSION_TOKEN": "aws-session-zz99yy88",
    "GOOGLE_APPLICATION_CREDENTIALS_JSON": '{"private_key": "gcp-key-material-42"}',
    "AZURE_CLIENT_SECRET": "azure-secret-77aa",
}
VALUES = list(SECRETS.values()) + ["Wh-pass-7781", "api-pass-5512", "defaults-pass-3141"]

HOSTILE_DAG = '''
import os
import sys

import pendulum
from airflow import DAG

try:
    from airflow.sdk import BaseOperator
except ImportError:  # Airflow 2
    from airflow.models import BaseOperator

# Print every secret it can find, at import time, to stdout and stderr.
for name, value in sorted(os.environ.items()):
    if name.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_", "AWS_", "AZURE_", "GOOGLE_")):
        print(name, value)
        print(name, value, file=sys.stderr)


class Query(BaseOperator):
    def __init__(self, *, warehouse_conn_id, api_conn_id="api", dsn=None, **kwargs):
        super().__init__(**kwargs)
        self.warehouse_conn_id = warehouse_conn_id
        self.api_conn_id = api_conn_id
        self.dsn = dsn

    def execute(self, context):
        return None


with DAG(
    "secretive",
    start_date=pendulum.datetime(2024, 1, 1),
    schedule="@daily",
    doc_md="Loads the warehouse.",
    default_args={
        "warehouse_conn_id": "warehouse",
        # a DSN with a password, from the environment, in the defaults (not a *conn_id argument)
        "dsn": os.environ["AIRFLOW_CONN_WAREHOUSE"],
        "owner": "data",
    },
    params={"region": "eu"},
):
    Query(task_id="load") >> Query(task_id="report", api_conn_id="api")
'''


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def _assert_no_value(text: str, where: str) -> None:
    for value in VALUES:
        assert value not in text, f"{where} holds a secret value"


@pytest.mark.usefixtures("secret_env")
def test_split_writes_no_secret_and_prints_none(tmp_path: Path) -> None:
    dag_file = tmp_path / "secretive.py"
    dag_file.write_text(HOSTILE_DAG)
    out = tmp_path / "out"
    result = run_cli("split", str(dag_file), "-o", str(out))
    assert result.exit_code == 0, result.output
    _assert_no_value(result.output, "bridge's output")
    files = read_tree(out)
    assert any(rel.startswith("workflows/") for rel in files)
    for rel, data in files.items():
        _assert_no_value(data.decode("utf-8", errors="replace"), rel)
    workflow = files["workflows/secretive.yaml"].decode()
    # Only Secret references: the connection ids, never their values.
    assert "secretKeyRef:\n" in workflow and "name: bridge-connections" in workflow
    assert "key: warehouse" in workflow and "key: api" in workflow
    assert "name: bridge-variables" in workflow


@pytest.mark.usefixtures("secret_env")
def test_param_default_read_from_a_secret_is_refused(tmp_path: Path) -> None:
    dag_file = tmp_path / "leaky.py"
    dag_file.write_text(HOSTILE_DAG.replace('params={"region": "eu"}', 'params={"token": os.environ["AIRFLOW_VAR_API_TOKEN"]}'))
    out = tmp_path / "out"
    result = run_cli("split", str(dag_file), "-o", str(out))
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert re.match(rf"bridge: error: {re.escape(str(dag_file))}: DAG 'secretive': (workflows|cronjobs)/secretive\.yaml \(line \d+\)", line)
    assert "would hold a secret: holds the value of the environment variable AIRFLOW_VAR_API_TOKEN (value not shown)" in line
    _assert_no_value(result.output, "bridge's output")
    assert not out.exists()


def test_password_literal_in_a_connection_id_is_refused_without_echoing_it(tmp_path: Path) -> None:
    dag_file = tmp_path / "literal.py"
    dag_file.write_text(HOSTILE_DAG.replace('"warehouse_conn_id": "warehouse"',
                                            '"warehouse_conn_id": "postgres://etl:defaults-pass-3141@db/sales"')
                        .replace('"dsn": os.environ["AIRFLOW_CONN_WAREHOUSE"],', ""))
    result = run_cli("split", str(dag_file), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "passes 'postgres://etl***@db/sales' where a connection id belongs" in result.output
    _assert_no_value(result.output, "bridge's output")
    assert not (tmp_path / "out").exists()


def test_secret_scanner_reads_names_and_uri_passwords() -> None:
    from bridge.lint.secrets import find_secrets, secret_values

    values = secret_values(SECRETS | {"HOME": "/root/home-dir", "AIRFLOW_VAR_SHORT": "eu"})
    assert values["Wh-pass-7781"] == "AIRFLOW_CONN_WAREHOUSE (its password)"
    assert "/root/home-dir" not in values and "eu" not in values
    found = find_secrets({"a.yaml": b"x: 1\ny: tok-9f8e7d6c5b4a\n", "b.yaml": b"dsn: mysql://me:pw12@h/db\n"}, SECRETS)
    assert [str(f) for f in found][0].startswith("a.yaml: line 2: holds the value of the environment variable AIRFLOW_VAR_API_TOKEN")
    assert [f.message for f in found][1] == "holds a URI with a password (user:password@host)"


# A public book's own setting: the connection's password is a common word, which bridge's own text
# holds too (the Dockerfile's `apache-airflow==…`, the image's `airflow` user).
MOVIELENS = "http://airflow:airflow@host:5000"


def test_a_common_word_password_in_bridges_own_text_is_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MOVIELENS", MOVIELENS)
    out = tmp_path / "out"
    result = run_cli("split", str(ROOT / "examples" / "etl" / "etl.py"), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "secret" not in result.output
    assert "apache-airflow==" in (out / "images" / "requirements.txt").read_text()


def test_a_common_word_password_the_dag_copies_is_still_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MOVIELENS", MOVIELENS)
    dag_file = tmp_path / "copier.py"
    copier = HOSTILE_DAG.replace('"dsn": os.environ["AIRFLOW_CONN_WAREHOUSE"],', "")
    copier = copier.replace('params={"region": "eu"}', 'params={"who": os.environ["AIRFLOW_CONN_MOVIELENS"].split(":")[2].split("@")[0]}')
    dag_file.write_text(copier)
    out = tmp_path / "out"
    result = run_cli("split", str(dag_file), "-o", str(out))
    assert result.exit_code == 1, result.output
    assert "would hold a secret: holds the value of the environment variable AIRFLOW_CONN_MOVIELENS (its password)" in result.output
    assert not out.exists()


def test_secret_scanner_looks_for_the_secrets_the_dag_gave() -> None:
    from bridge.lint.secrets import find_secrets, given_values
    from bridge.model import SourceDag

    environ = {"AIRFLOW_CONN_MOVIELENS": MOVIELENS}
    files = {"images/Dockerfile": b"RUN pip install apache-airflow==3\nUSER airflow\n"}
    assert [f.file for f in find_secrets(files)] == []  # os.environ: no such variable here
    assert [f.path for f in find_secrets(files, environ)] == ["line 2"]  # no provenance: any occurrence
    plain = SourceDag(dag_id="etl", source_path="/home/airflow/dags/etl.py", tasks=(), owners=("airflow",))
    assert find_secrets(files, environ, given_values(plain)) == []  # the path and Airflow's default owner are not given
    copied = SourceDag(dag_id="etl", source_path="/d/etl.py", tasks=(), params=(("who", "airflow"),))
    assert [f.path for f in find_secrets(files, environ, given_values(copied))] == ["line 2"]  # the whole word
