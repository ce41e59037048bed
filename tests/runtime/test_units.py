"""Pure parts of the runner: XCom documents, params, output files (no Airflow, no processes)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from bridge.runtime.cli import main, parse_params
from bridge.runtime.runner import RunOutcome, write_outputs
from bridge.runtime.xcom import (
    ARGO_PARAMETER_LIMIT,
    XComDocumentError,
    XComRow,
    oversize_message,
    parse_documents,
    render_document,
)


def test_documents_merge_later_wins_and_sort() -> None:
    text = (
        '{"rows":[{"task_id":"b","map_index":-1,"key":"return_value","value":"1"},'
        '{"task_id":"a","map_index":-1,"key":"return_value","value":"\\"x\\""}]}\n'
        "{}\n"
        '{"rows":[{"task_id":"b","map_index":-1,"key":"return_value","value":"2"}]}\n\n'
    )
    rows = parse_documents(text)
    assert [(r.task_id, r.value) for r in rows] == [("a", '"x"'), ("b", "2")]


def test_documents_concatenated_without_separator() -> None:
    # The Workflow joins its upstreams' `x` outputs with nothing in between (docs/DESIGN.md).
    text = (
        '{"rows":[{"task_id":"a","map_index":-1,"key":"k","value":"1"}]}'
        '{"rows":[]}'
        '{"rows":[{"task_id":"b","map_index":-1,"key":"k","value":"}{"}]}'
    )
    rows = parse_documents(text)
    assert [(r.task_id, r.value) for r in rows] == [("a", "1"), ("b", "}{")]


def test_unresolved_output_tag_between_documents_is_no_rows() -> None:
    # Argo 3.6, 3.7.0-3.7.10, 4.0.0-4.0.1 leave a skipped task's tag as text (docs/COMPATIBILITY.md).
    text = (
        '{"rows":[{"task_id":"a","map_index":-1,"key":"k","value":"1"}]}'
        "{{tasks.skipped-one.outputs.parameters.x}}"
        '{"rows":[{"task_id":"b","map_index":-1,"key":"k","value":"{{tasks.c.outputs.parameters.x}}"}]}'
        "{{tasks.last.outputs.parameters.x}}"
    )
    rows = parse_documents(text)
    # The tag inside a value is data, kept byte for byte.
    assert [(r.task_id, r.value) for r in rows] == [("a", "1"), ("b", "{{tasks.c.outputs.parameters.x}}")]
    assert parse_documents("{{tasks.only.outputs.parameters.x}}") == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("{nope", "document 1 is not JSON"),
        ("{{tasks.a.outputs.parameters.x}", "document 1 is not JSON"),
        ("{{workflow.parameters.x}}", "document 1 is not JSON"),
        ("[]", "must be an object"),
        ('{"rows": {}}', '"rows" must be a list'),
        ('{"rows": [{"task_id": "a", "key": "k"}]}', "lacks a valid 'value'"),
        ('{"rows": [{"task_id": "a", "key": "k", "value": 1}]}', "must be strings"),
    ],
)
def test_bad_documents(text: str, message: str) -> None:
    with pytest.raises(XComDocumentError, match=message):
        parse_documents(text)


def test_render_is_one_line() -> None:
    rows = [XComRow("a", -1, "k", "2"), XComRow("t", -1, "return_value", "3")]
    assert render_document(rows) == (
        '{"rows":[{"task_id":"a","map_index":-1,"key":"k","value":"2"},'
        '{"task_id":"t","map_index":-1,"key":"return_value","value":"3"}]}'
    )


def test_oversize_message_names_task_and_key() -> None:
    rows = [XComRow("t", -1, "small", "1"), XComRow("t", -1, "big", "x" * ARGO_PARAMETER_LIMIT)]
    assert oversize_message("t", rows, 100) is None
    message = oversize_message("t", rows, ARGO_PARAMETER_LIMIT + 100)
    assert message is not None
    assert message.startswith(f"task 't': XCom key 'big' is {ARGO_PARAMETER_LIMIT} bytes;")
    upstream = oversize_message("down", rows, ARGO_PARAMETER_LIMIT + 100)
    assert upstream is not None and "pushed upstream by 't'" in upstream


def test_params_parse_json_else_string() -> None:
    assert parse_params(("a=1", "b=x y", "c={\"k\": [1]}", "d=", "e=a=b")) == {
        "a": 1, "b": "x y", "c": {"k": [1]}, "d": "", "e": "a=b",
    }
    with pytest.raises(click.BadParameter):
        parse_params(("novalue",))


def test_a_pod_exit_code_that_is_no_number_is_a_usage_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    task_file = tmp_path / "t.py"
    task_file.write_text("")
    result = CliRunner().invoke(main, ["run", str(task_file), "--run-date", "2024-01-01", "--pod-exit-code", "three"])
    assert result.exit_code == 2 and "'three' is no exit code" in result.output, result.output


def test_outputs_are_written_even_for_a_failure(tmp_path: Path) -> None:
    write_outputs(str(tmp_path / "out"), RunOutcome(state="failed", rows=[XComRow("a", -1, "k", "1")]))
    assert (tmp_path / "out" / "state").read_text() == "failed\n"
    assert (tmp_path / "out" / "branch").read_text() == "null\n"
    assert json.loads((tmp_path / "out" / "xcom.json").read_text())["rows"][0]["task_id"] == "a"
    write_outputs(str(tmp_path / "out"), RunOutcome(state="success", branch=["c", "b"]))
    assert (tmp_path / "out" / "branch").read_text() == ",b,c,\n"  # `when`-friendly, not JSON
    write_outputs(str(tmp_path / "out"), RunOutcome(state="success", branch=[]))
    assert (tmp_path / "out" / "branch").read_text() == ",\n"


def test_the_xcom_table_of_this_airflow_is_the_layout_bridge_seeds(db_template: str, tmp_path: Path) -> None:
    """The migrated database of the installed line passes; a table of another layout is refused by name."""
    import sqlite3

    from bridge.runtime.database import check_xcom_table

    with sqlite3.connect(db_template) as connection:
        check_xcom_table(connection)  # Airflow's own schema, as `airflow db migrate` made it
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE xcom (dag_run_id INTEGER, task_id TEXT, map_index INTEGER, key TEXT, "
                           "dag_id TEXT, run_id TEXT, value BLOB, timestamp TEXT, team TEXT NOT NULL)")
        with pytest.raises(RuntimeError, match=r"new required \['team'\]"):
            check_xcom_table(connection)
        connection.execute("DROP TABLE xcom")
        connection.execute("CREATE TABLE xcom (id INTEGER, task_id TEXT, key TEXT, value BLOB)")
        with pytest.raises(RuntimeError, match="missing .*dag_run_id"):
            check_xcom_table(connection)


def test_a_native_pods_document_is_its_return_value_or_nothing():
    """`{"pod": id, "value": <return.json>}`: the row Airflow's KubernetesPodOperator pushes (the value
    as Airflow stores JSON); an empty file, `null`, or an old Argo's unresolved tag of a pod without
    outputs push nothing, as the operator pushes nothing without a file."""
    from bridge.runtime.xcom import parse_documents

    rows = parse_documents('{"pod":"count","value":{"day": "2024-01-02", "rows": 42}\n}{"rows":[]}')
    assert [(r.task_id, r.map_index, r.key, json.loads(r.value)) for r in rows] == [
        ("count", -1, "return_value", {"day": "2024-01-02", "rows": 42})
    ]
    for empty in ('{"pod":"count","value":}', '{"pod":"count","value":  \n}', '{"pod":"count","value":null}',
                  '{"pod":"count","value":{{tasks.count.outputs.parameters.r}}}'):
        assert parse_documents(empty) == [], empty
