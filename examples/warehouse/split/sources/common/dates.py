"""Date arithmetic on Airflow's `ds` strings (YYYY-MM-DD), kept out of the DAG files so every DAG agrees."""

from __future__ import annotations

import datetime


def week_bounds(ds: str) -> tuple[str, str]:
    """The Monday and Sunday of the ISO week that contains `ds`, as YYYY-MM-DD."""
    day = datetime.date.fromisoformat(ds)
    monday = day - datetime.timedelta(days=day.weekday())
    return monday.isoformat(), (monday + datetime.timedelta(days=6)).isoformat()


def is_month_start(ds: str) -> bool:
    """True on the first day of a month: monthly maintenance runs only then.

    The parameter is named `ds` so that a PythonOperator passes the run's date to it from the context.
    """
    return datetime.date.fromisoformat(ds).day == 1
