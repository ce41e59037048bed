"""Parse `--run-date` values; pure, no Airflow imports."""

from __future__ import annotations

import re
from datetime import datetime, timezone

# datetime.UTC needs Python 3.11; bridge supports 3.9.
UTC = timezone.utc  # noqa: UP017

_COMPACT = re.compile(r"^\d{8}$")


def parse_run_date(value: str) -> datetime:
    """The logical date (in UTC; naive means UTC) for `YYYYMMDD`, `YYYY-MM-DD` or an ISO date-time."""
    text = value.strip()
    try:
        if _COMPACT.match(text):
            parsed = datetime.strptime(text, "%Y%m%d")
        else:
            # fromisoformat in 3.9/3.10 does not take a trailing "Z"
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise ValueError(
            f"run date {value!r} is not YYYYMMDD, YYYY-MM-DD or an ISO date-time (e.g. 2024-01-01T06:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # Airflow stores and renders logical dates in UTC; normalising here keeps run_id identical too.
    return parsed.astimezone(UTC)


def default_run_id(logical_date: datetime) -> str:
    """`manual__<iso>` as `airflow dags test`/`trigger` name a run (Airflow's own format)."""
    return f"manual__{logical_date.isoformat()}"
