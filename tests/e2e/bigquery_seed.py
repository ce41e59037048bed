"""Seed a BigQuery emulator with the public tables the github_hn_trends example reads.

Usage: python tests/e2e/bigquery_seed.py PROJECT DATASET   (BIGQUERY_EMULATOR_HOST must be set)

Creates small stand-ins for `githubarchive.day.YYYYMMDD` (2024-01-01 and 2024-01-02) and
`bigquery-public-data.hacker_news.full` (a subset of the real columns, same names and types),
the result dataset PROJECT.DATASET, and a `github_daily_metrics` table holding history that
the DAG must keep (2023-11-30, 2023-12-20) or replace (a stale 2024-01-01 row).
The rows are chosen so that the expected results in bigquery_check.py can be worked out by
hand: every filter, window and join of the DAG's SQL has a row on each side of it.
"""

from __future__ import annotations

import os
import sys

from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

EVENTS_SCHEMA = "id STRING, type STRING, repo STRUCT<id INT64, name STRING, url STRING>, created_at TIMESTAMP"
# (type, repo, hour) per day; repo ids are made up.
EVENTS = {
    "20240101": [
        ("WatchEvent", "apache/airflow", 1),
        ("WatchEvent", "apache/airflow", 2),
        ("WatchEvent", "apache/airflow", 3),
        ("ForkEvent", "apache/airflow", 4),
        ("PushEvent", "apache/airflow", 5),  # neither star nor fork
        ("WatchEvent", "argoproj/argo-workflows", 6),
        ("WatchEvent", "argoproj/argo-workflows", 7),
        ("ForkEvent", "pallets/flask", 8),
        ("ForkEvent", "pallets/flask", 9),
    ],
    "20240102": [
        ("WatchEvent", "apache/airflow", 1),
        ("ForkEvent", "apache/airflow", 2),
        ("ForkEvent", "apache/airflow", 3),
        ("WatchEvent", "argoproj/argo-workflows", 4),
        ("WatchEvent", "argoproj/argo-workflows", 5),
        ("WatchEvent", "argoproj/argo-workflows", 6),
        ("WatchEvent", "argoproj/argo-workflows", 7),
        ("ForkEvent", "argoproj/argo-workflows", 8),
        ("WatchEvent", "duckdb/duckdb", 9),
        ("IssuesEvent", "pallets/flask", 10),  # flask gets no metrics row on day 2
    ],
}
REPO_IDS = {"apache/airflow": 33884891, "argoproj/argo-workflows": 97745006, "pallets/flask": 596892, "duckdb/duckdb": 138754790}

STORIES_SCHEMA = "id INT64, type STRING, title STRING, url STRING, score INT64, timestamp TIMESTAMP"
# (id, type, url, score, timestamp)
STORIES = [
    (1, "story", "https://github.com/apache/airflow", 50, "2024-01-01 09:00:00"),
    (2, "story", "https://github.com/Apache/Airflow/issues/1", 10, "2024-01-01 10:00:00"),  # other case
    (3, "story", "https://github.com/pallets/flask?tab=readme", 7, "2024-01-01 11:00:00"),
    (4, "story", "https://example.com/post", 99, "2024-01-01 12:00:00"),  # not GitHub
    (5, "comment", "https://github.com/apache/airflow", 5, "2024-01-01 13:00:00"),  # not a story
    (6, "story", "https://github.com/argoproj/argo-workflows", 30, "2024-01-02 09:00:00"),
    (7, "story", "https://github.com/argoproj/argo-workflows/releases", 20, "2024-01-02 10:00:00"),
    (8, "story", "https://github.com/nobody/nothing", 3, "2024-01-02 11:00:00"),  # no GitHub events
    (9, "story", "https://github.com/features", 4, "2024-01-02 12:00:00"),  # no owner/name: repo NULL
    (10, "story", "https://github.com/duckdb/duckdb", 40, "2024-01-03 00:30:00"),  # the next day
]

METRICS_SCHEMA = "date DATE, repo STRING, stars INT64, forks INT64"
# (date, repo, stars, forks) written by "earlier runs"
METRICS_HISTORY = [
    ("2023-11-30", "apache/airflow", 1000, 1000),  # older than 28 days for both run dates
    ("2023-12-20", "apache/airflow", 10, 5),  # within 28 days, not within 7
    ("2024-01-01", "apache/airflow", 999, 999),  # stale: the 2024-01-01 run replaces it
]


def sql_string(value: str) -> str:
    """A GoogleSQL string literal (the seed values hold no quotes or backslashes)."""
    assert "'" not in value and "\\" not in value, value
    return f"'{value}'"


def seed(client: bigquery.Client, project: str, dataset: str) -> None:
    """Create the source tables, the result dataset and the metrics history."""
    statements = ["CREATE SCHEMA `githubarchive`.`day`", "CREATE SCHEMA `bigquery-public-data`.`hacker_news`"]
    for day, events in EVENTS.items():
        rows = ",\n".join(
            f"({sql_string(f'{day}-{n}')}, {sql_string(kind)}, "
            f"STRUCT({REPO_IDS[repo]} AS id, {sql_string(repo)} AS name, {sql_string('https://api.github.com/repos/' + repo)} AS url), "
            f"TIMESTAMP '{day[:4]}-{day[4:6]}-{day[6:]} {hour:02d}:00:00')"
            for n, (kind, repo, hour) in enumerate(events)
        )
        statements += [f"CREATE TABLE `githubarchive.day.{day}` ({EVENTS_SCHEMA})", f"INSERT INTO `githubarchive.day.{day}` VALUES\n{rows}"]
    rows = ",\n".join(
        f"({id_}, {sql_string(kind)}, {sql_string(f'story {id_}')}, {sql_string(url)}, {score}, TIMESTAMP '{ts}')" for id_, kind, url, score, ts in STORIES
    )
    statements += [
        f"CREATE TABLE `bigquery-public-data.hacker_news.full` ({STORIES_SCHEMA})",
        f"INSERT INTO `bigquery-public-data.hacker_news.full` VALUES\n{rows}",
        f"CREATE SCHEMA `{project}`.`{dataset}`",
        f"CREATE TABLE `{project}.{dataset}.github_daily_metrics` ({METRICS_SCHEMA}) PARTITION BY date",
    ]
    rows = ",\n".join(f"(DATE '{date}', {sql_string(repo)}, {stars}, {forks})" for date, repo, stars, forks in METRICS_HISTORY)
    statements.append(f"INSERT INTO `{project}.{dataset}.github_daily_metrics` VALUES\n{rows}")
    for statement in statements:
        client.query(statement).result()


def main(argv: list[str]) -> int:
    """Seed the emulator at $BIGQUERY_EMULATOR_HOST; exit 2 on a usage error."""
    if len(argv) != 2 or not os.environ.get("BIGQUERY_EMULATOR_HOST"):
        print("usage: BIGQUERY_EMULATOR_HOST=http://127.0.0.1:PORT python bigquery_seed.py PROJECT DATASET", file=sys.stderr)
        return 2
    project, dataset = argv
    client = bigquery.Client(project=project, credentials=AnonymousCredentials())
    try:
        seed(client, project, dataset)
    finally:
        client.close()
    print(f"seeded githubarchive.day.{{{','.join(EVENTS)}}}, bigquery-public-data.hacker_news.full, {project}.{dataset}.github_daily_metrics")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
