"""GitHub + Hacker News trends on BigQuery, as one modern Airflow DAG.

The pipeline of the original Argo data-pipeline example (the "GitHub trends" BigQuery
tutorial), with the Google provider's operators: check that the day's GitHub archive and
Hacker News stories exist, write daily GitHub metrics, aggregate them over 1/7/28 days,
aggregate Hacker News stories that link to GitHub, join both, and check the result.

Each run processes one day: the data interval [logical date, logical date + 1 day). The
schedule is a CronDataIntervalTimetable so `ds` is the processed day on Airflow 2 and 3.
Parameters: `project` (where the result tables live) and `dataset` (must exist).

A write task replaces the day's rows of its table (created on first use, partitioned by
`date`) with one MERGE, so a retried or re-run day is rewritten, never doubled.
README.md beside this file says how to run it on BigQuery or on a local emulator.
"""

from __future__ import annotations

import pendulum
from airflow import DAG
from airflow.providers.google.cloud.operators.bigquery import (
    BigQueryCheckOperator,
    BigQueryInsertJobOperator,
)
from airflow.timetables.interval import CronDataIntervalTimetable

PROJECT = "{{ params.project }}"
DATASET = "{{ params.dataset }}"
DAY = "{{ ds_nodash }}"


def write_query(task_id: str, table: str, columns: str, select: str) -> BigQueryInsertJobOperator:
    """A query whose result replaces the run date's rows of `table` (`date` column = ds).

    One MERGE deletes the day's old rows and inserts the new ones atomically; the table is
    created (partitioned by day) on first use. A `$YYYYMMDD` partition decorator as
    destinationTable with WRITE_TRUNCATE does the same on BigQuery, but needs job-level
    destination tables, which the local emulator (README.md) does not have.
    """
    names = ", ".join(column.split()[0] for column in columns.split(","))
    target = f"`{PROJECT}.{DATASET}.{table}`"
    return BigQueryInsertJobOperator(
        task_id=task_id,
        configuration={
            "query": {
                "query": f"""
        CREATE TABLE IF NOT EXISTS {target} ({columns}) PARTITION BY date;
        MERGE {target} AS t
        USING ({select}) AS s
        ON FALSE
        WHEN NOT MATCHED BY SOURCE AND t.date = DATE('{{{{ ds }}}}') THEN DELETE
        WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({names})
        """,
                "useLegacySql": False,
            }
        },
        location="US",
    )


with DAG(
    dag_id="github_hn_trends",
    description="Daily GitHub stars/forks and Hacker News mentions of GitHub repositories",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    catchup=False,
    max_active_runs=1,
    params={"project": "my-gcp-project", "dataset": "github_trends"},
    default_args={
        "owner": "data-eng",
        "retries": 2,
        "retry_delay": pendulum.duration(minutes=5),
        "execution_timeout": pendulum.duration(hours=1),
        "gcp_conn_id": "google_cloud_default",
    },
    tags=["bigquery", "example"],
) as dag:
    check_github_day = BigQueryCheckOperator(
        task_id="bq_check_githubarchive_day",
        sql=f"SELECT COUNT(*) > 0 FROM `githubarchive.day.{DAY}`",
        use_legacy_sql=False,
    )
    check_hackernews = BigQueryCheckOperator(
        task_id="bq_check_hackernews_full",
        sql="""
            SELECT COUNT(*) > 0
            FROM `bigquery-public-data.hacker_news.full`
            WHERE type = 'story' AND DATE(timestamp) = '{{ ds }}'
        """,
        use_legacy_sql=False,
    )
    github_daily = write_query(
        "bq_write_to_github_daily_metrics",
        "github_daily_metrics",
        "date DATE, repo STRING, stars INT64, forks INT64",
        f"""
        SELECT
          DATE('{{{{ ds }}}}') AS date,
          repo.name AS repo,
          COUNTIF(type = 'WatchEvent') AS stars,
          COUNTIF(type = 'ForkEvent') AS forks
        FROM `githubarchive.day.{DAY}`
        WHERE type IN ('WatchEvent', 'ForkEvent')
        GROUP BY date, repo
        """,
    )
    github_agg = write_query(
        "bq_write_to_github_agg",
        "github_agg",
        "date DATE, repo STRING, stars_last_28_days INT64, stars_last_7_days INT64, stars_last_1_day INT64, "
        "forks_last_28_days INT64, forks_last_7_days INT64, forks_last_1_day INT64",
        f"""
        SELECT
          DATE('{{{{ ds }}}}') AS date,
          repo,
          SUM(stars) AS stars_last_28_days,
          SUM(IF(date > DATE_SUB(DATE('{{{{ ds }}}}'), INTERVAL 7 DAY), stars, 0)) AS stars_last_7_days,
          SUM(IF(date = DATE('{{{{ ds }}}}'), stars, 0)) AS stars_last_1_day,
          SUM(forks) AS forks_last_28_days,
          SUM(IF(date > DATE_SUB(DATE('{{{{ ds }}}}'), INTERVAL 7 DAY), forks, 0)) AS forks_last_7_days,
          SUM(IF(date = DATE('{{{{ ds }}}}'), forks, 0)) AS forks_last_1_day
        FROM `{PROJECT}.{DATASET}.github_daily_metrics`
        WHERE date > DATE_SUB(DATE('{{{{ ds }}}}'), INTERVAL 28 DAY) AND date <= DATE('{{{{ ds }}}}')
        GROUP BY date, repo
        """,
    )
    hackernews_agg = write_query(
        "bq_write_to_hackernews_agg",
        "hackernews_agg",
        "date DATE, repo STRING, score INT64, stories INT64",
        """
        SELECT
          DATE('{{ ds }}') AS date,
          REGEXP_EXTRACT(url, r'github\\.com/([^/?#]+/[^/?#]+)') AS repo,
          SUM(score) AS score,
          COUNT(*) AS stories
        FROM `bigquery-public-data.hacker_news.full`
        WHERE type = 'story' AND DATE(timestamp) = '{{ ds }}' AND url LIKE '%github.com/%'
        GROUP BY date, repo
        """,
    )
    joined = write_query(
        "bq_write_to_hackernews_github_agg",
        "hackernews_github_agg",
        "date DATE, repo STRING, score INT64, stories INT64, stars_last_1_day INT64, stars_last_7_days INT64, "
        "stars_last_28_days INT64, forks_last_1_day INT64, forks_last_7_days INT64, forks_last_28_days INT64",
        f"""
        SELECT
          hn.date, hn.repo, hn.score, hn.stories,
          gh.stars_last_1_day, gh.stars_last_7_days, gh.stars_last_28_days,
          gh.forks_last_1_day, gh.forks_last_7_days, gh.forks_last_28_days
        FROM `{PROJECT}.{DATASET}.hackernews_agg` AS hn
        JOIN `{PROJECT}.{DATASET}.github_agg` AS gh ON LOWER(hn.repo) = LOWER(gh.repo) AND hn.date = gh.date
        WHERE hn.date = DATE('{{{{ ds }}}}')
        """,
    )
    check_joined = BigQueryCheckOperator(
        task_id="bq_check_hackernews_github_agg",
        sql=f"SELECT COUNT(*) > 0 FROM `{PROJECT}.{DATASET}.hackernews_github_agg` WHERE date = DATE('{{{{ ds }}}}')",
        use_legacy_sql=False,
    )

    check_github_day >> github_daily >> github_agg
    check_hackernews >> hackernews_agg
    [github_agg, hackernews_agg] >> joined >> check_joined
