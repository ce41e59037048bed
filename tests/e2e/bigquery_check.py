"""Check two `bridge run --report` files and the result tables of github_hn_trends.

Usage: python tests/e2e/bigquery_check.py PROJECT DATASET REPORT...   (BIGQUERY_EMULATOR_HOST set)

The expected rows below were worked out by hand from the seed data in bigquery_seed.py (not by
running the DAG's SQL elsewhere), for the runs of 2024-01-01 and 2024-01-02. Prints every
difference and exits 1 when anything differs, 2 on a usage error.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path

from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

TASKS = {
    "bq_check_githubarchive_day",
    "bq_check_hackernews_full",
    "bq_write_to_github_daily_metrics",
    "bq_write_to_github_agg",
    "bq_write_to_hackernews_agg",
    "bq_write_to_hackernews_github_agg",
    "bq_check_hackernews_github_agg",
}
D0, D1, D2, D3 = (datetime.date.fromisoformat(d) for d in ("2023-11-30", "2023-12-20", "2024-01-01", "2024-01-02"))
AIRFLOW, ARGO, FLASK, DUCKDB = "apache/airflow", "argoproj/argo-workflows", "pallets/flask", "duckdb/duckdb"

# Columns in table order. Day 1 = 2024-01-01, day 2 = 2024-01-02.
EXPECTED: dict[str, tuple[tuple[str, ...], list[tuple[object, ...]]]] = {
    # Watch/Fork events per repo and day; the seeded 2023 history is kept, the stale
    # 2024-01-01 row (999, 999) replaced; flask had only an IssuesEvent on day 2: no row.
    "github_daily_metrics": (
        ("date", "repo", "stars", "forks"),
        [
            (D0, AIRFLOW, 1000, 1000),
            (D1, AIRFLOW, 10, 5),
            (D2, AIRFLOW, 3, 1),
            (D2, ARGO, 2, 0),
            (D2, FLASK, 0, 2),
            (D3, AIRFLOW, 1, 2),
            (D3, ARGO, 4, 1),
            (D3, DUCKDB, 1, 0),
        ],
    ),
    # Sums over (day - 28, day], (day - 7, day] and the day itself: 2023-12-20 counts in the
    # 28-day window only, 2023-11-30 in none.
    "github_agg": (
        (
            "date",
            "repo",
            "stars_last_28_days",
            "stars_last_7_days",
            "stars_last_1_day",
            "forks_last_28_days",
            "forks_last_7_days",
            "forks_last_1_day",
        ),
        [
            (D2, AIRFLOW, 10 + 3, 3, 3, 5 + 1, 1, 1),
            (D2, ARGO, 2, 2, 2, 0, 0, 0),
            (D2, FLASK, 0, 0, 0, 2, 2, 2),
            (D3, AIRFLOW, 10 + 3 + 1, 3 + 1, 1, 5 + 1 + 2, 1 + 2, 2),
            (D3, ARGO, 2 + 4, 2 + 4, 4, 1, 1, 1),
            (D3, FLASK, 0, 0, 0, 2, 2, 0),
            (D3, DUCKDB, 1, 1, 1, 0, 0, 0),
        ],
    ),
    # Stories (not comments) of the day linking to github.com, by owner/name as written;
    # github.com/features has no owner/name, so its repo is NULL; the 2024-01-03 story and
    # the example.com one are left out.
    "hackernews_agg": (
        ("date", "repo", "score", "stories"),
        [
            (D2, "Apache/Airflow", 10, 1),
            (D2, AIRFLOW, 50, 1),
            (D2, FLASK, 7, 1),
            (D3, None, 4, 1),
            (D3, ARGO, 30 + 20, 2),
            (D3, "nobody/nothing", 3, 1),
        ],
    ),
    # Joined case-insensitively on repo and date: both spellings of apache/airflow match;
    # nobody/nothing and the NULL repo have no GitHub metrics.
    "hackernews_github_agg": (
        (
            "date",
            "repo",
            "score",
            "stories",
            "stars_last_1_day",
            "stars_last_7_days",
            "stars_last_28_days",
            "forks_last_1_day",
            "forks_last_7_days",
            "forks_last_28_days",
        ),
        [
            (D2, "Apache/Airflow", 10, 1, 3, 3, 13, 1, 1, 6),
            (D2, AIRFLOW, 50, 1, 3, 3, 13, 1, 1, 6),
            (D2, FLASK, 7, 1, 0, 0, 0, 2, 2, 2),
            (D3, ARGO, 50, 2, 4, 6, 6, 1, 1, 1),
        ],
    ),
}


def sort_key(row: tuple[object, ...]) -> tuple[str, ...]:
    """Rows sorted by their text, NULL first, so the order never depends on the engine."""
    return tuple("" if value is None else f"~{value}" for value in row)


def check_report(path: Path) -> list[str]:
    """Problems with one `bridge run --report` file: the run and every task must be success."""
    report = json.loads(path.read_text())
    problems = []
    where = f"{path} ({report.get('run_date')})"
    if report.get("state") != "success":
        problems.append(f"{where}: run state is {report.get('state')!r}, expected 'success'")
    tasks = report.get("tasks", {})
    if set(tasks) != TASKS:
        problems.append(f"{where}: tasks {sorted(tasks)} are not the DAG's {sorted(TASKS)}")
    problems += [f"{where}: task {task!r} is {state!r}, expected 'success'" for task, state in sorted(tasks.items()) if state != "success"]
    return problems


def check_table(client: bigquery.Client, project: str, dataset: str, table: str) -> list[str]:
    """Problems with one result table: its columns and all its rows must be the expected ones."""
    columns, expected = EXPECTED[table]
    result = client.query(f"SELECT * FROM `{project}.{dataset}.{table}`").result()
    names = tuple(field.name for field in result.schema)
    if names != columns:
        return [f"{table}: columns {names}, expected {columns}"]
    actual = sorted((tuple(row.values()) for row in result), key=sort_key)
    expected = sorted(expected, key=sort_key)
    if actual == expected:
        print(f"{table}: {len(actual)} rows as expected")
        return []
    problems = [f"{table}: rows differ from the expected ones"]
    problems += [f"{table}:   missing    {row}" for row in expected if row not in actual]
    problems += [f"{table}:   unexpected {row}" for row in actual if row not in expected]
    return problems


def main(argv: list[str]) -> int:
    """Check the reports and the tables; print every problem."""
    if len(argv) < 3 or not os.environ.get("BIGQUERY_EMULATOR_HOST"):
        print("usage: BIGQUERY_EMULATOR_HOST=http://127.0.0.1:PORT python bigquery_check.py PROJECT DATASET REPORT...", file=sys.stderr)
        return 2
    project, dataset, *reports = argv
    problems = [problem for report in reports for problem in check_report(Path(report))]
    client = bigquery.Client(project=project, credentials=AnonymousCredentials())
    try:
        for table in EXPECTED:
            problems += check_table(client, project, dataset, table)
    finally:
        client.close()
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
