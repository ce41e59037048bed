"""Retries and task callbacks as in Airflow: `bridge run` (Argo's retries, one pod per try) fires
exactly the callbacks and alert e-mails `airflow dags test` fires (which retries in-process), with
the same try numbers, and ends every task in the same state (docs/SEMANTICS.md, "Retries and
callbacks")."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from bridge.version_compat import AIRFLOW_3, AIRFLOW_LINE
from tests.helpers import DATA
from tests.parity.test_parity import RUN_DATE, airflow_db_template, dags_folder_on_path, task_states

SOURCE = DATA / "retries"
DAG_ID = "retry_callbacks"
# Airflow 3.0's default alert e-mail names `ti.mark_success_url`, which its task runner's task
# instance lacks (apache/airflow#53135, #57507): rendering it fails the task's finalize, and
# `dags test` then fails a task that was up for retry. Airflow's own `[email]
# html_content_template` option, set to its default text minus that line, lets the reference run
# (bridge's pods have the attribute: bridge.runtime.links).
EMAIL_TEMPLATE_3_0 = (
    "Try {{try_number}} out of {{max_tries + 1}}<br>Exception:<br>{{exception_html}}<br>"
    'Log: <a href="{{ti.log_url}}">Link</a><br>Host: {{ti.hostname}}<br>'
)


def _calls(folder: Path) -> list[dict]:
    path = folder / "calls.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return sorted((json.loads(line) for line in lines), key=lambda c: json.dumps(c, sort_keys=True))


def _env(record: Path) -> dict[str, str]:
    # Airflow's own alert e-mail path, with a backend that records instead of sending.
    return {**os.environ, "CALLBACK_DIR": str(record), "AIRFLOW__EMAIL__EMAIL_BACKEND": "record_email.send_email"}


def _reference(tmp_path: Path) -> tuple[dict, list[dict]]:
    home = tmp_path / "reference"
    shutil.copytree(SOURCE, home / "dags")
    record = tmp_path / "reference-calls"
    record.mkdir()
    db = home / "airflow.db"
    shutil.copy(airflow_db_template(), db)
    env = {
        **_env(record),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        **dags_folder_on_path(home / "dags"),  # also where Airflow imports the e-mail backend from
    }
    if AIRFLOW_LINE == (3, 0):
        template = tmp_path / "email.html"
        template.write_text(EMAIL_TEMPLATE_3_0)
        env["AIRFLOW__EMAIL__HTML_CONTENT_TEMPLATE"] = str(template)
    airflow = str(Path(sys.executable).with_name("airflow"))
    done = subprocess.run([airflow, "dags", "test", DAG_ID, RUN_DATE], capture_output=True, text=True, env=env,
                          timeout=900, check=False)
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ? ORDER BY task_id, map_index",
            (DAG_ID,),
        ).fetchall()
    assert rows, done.stdout[-3000:] + done.stderr[-3000:]
    return task_states(rows), _calls(record)


def _bridge_run(tmp_path: Path) -> tuple[dict, list[dict]]:
    record = tmp_path / "bridge-calls"
    record.mkdir()
    report = tmp_path / "report.json"
    bridge = str(Path(sys.executable).with_name("bridge"))
    done = subprocess.run(
        [bridge, "run", str(SOURCE / "retry_callbacks.py"), "--dag-id", DAG_ID, "--run-date", RUN_DATE,
         "--report", str(report), "--retry-delay-scale", "0", "--parallelism", "2"],
        capture_output=True, text=True, env=_env(record), timeout=1800, check=False,
    )
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    data = json.loads(report.read_text())
    return data["tasks"], _calls(record)


def test_retries_and_callbacks_match_airflow_dags_test(tmp_path: Path) -> None:
    ours, our_calls = _bridge_run(tmp_path)
    reference, reference_calls = _reference(tmp_path)
    assert ours == reference
    assert reference == {"flaky": "success", "always_fails": "failed", "gives_up": "failed", "backs_off": "success"}
    assert our_calls == reference_calls
    kinds = [(c["kind"], c.get("task"), c.get("try_number")) for c in reference_calls if c["kind"] != "email"]
    # What Airflow fires: one retry callback per retried try, one failure callback after the last.
    assert sorted(kinds) == sorted([
        ("retry", "flaky", 1), ("success", "flaky", 2),
        ("retry", "always_fails", 1), ("retry", "always_fails", 2), ("failure", "always_fails", 3),
        ("failure", "gives_up", 1),
        ("retry", "backs_off", 1), ("success", "backs_off", 2),
    ])
    # 3 retry + 3 failure alerts. A retry of gives_up (exit 4) would fire a second failure callback.
    # Airflow 3.1 and 3.2's task runner sends alerts through SMTP only, never a custom email_backend
    # (3.0's goes through airflow.utils.email.send_email, which uses it).
    if not AIRFLOW_3 or AIRFLOW_LINE == (3, 0) or AIRFLOW_LINE >= (3, 3):
        assert sum(c["kind"] == "email" for c in reference_calls) == 6
