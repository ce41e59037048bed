"""Run dates as bridge accepts them: one rule for `bridge run`, `bridge submit` and `bridge-task`.

Pure (no Airflow). The rule (docs/DESIGN.md, "The task runner command line"): `YYYYMMDD`,
`YYYY-MM-DD` or an ISO date-time; naive means UTC, a trailing `Z` is accepted, an offset is
converted to UTC, so every spelling of one instant gives the same logical date and run_id.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

# datetime.UTC needs Python 3.11; bridge supports 3.9.
UTC = timezone.utc  # noqa: UP017

RUN_DATE_FORMS = "YYYYMMDD, YYYY-MM-DD or an ISO date-time (e.g. 2024-01-01T06:00:00Z)"

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
        raise ValueError(f"run date {value!r} is not {RUN_DATE_FORMS}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # Airflow stores and renders logical dates in UTC; normalising here keeps run_id identical too.
    return parsed.astimezone(UTC)


def check_run_date(value: str) -> str:
    """`value` once `parse_run_date` accepts it (ValueError if not), stripped, with `YYYYMMDD` spelled `YYYY-MM-DD`."""
    parse_run_date(value)
    text = value.strip()
    if _COMPACT.match(text):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def run_id(kind: str, logical_date: datetime) -> str:
    """Airflow's run_id format, `<kind>__<logical date ISO, UTC>` (kind: manual, scheduled, backfill)."""
    return f"{kind}__{logical_date.astimezone(UTC).isoformat()}"


def default_run_id(logical_date: datetime) -> str:
    """`manual__<iso>` as `airflow dags test`/`trigger` name a run (Airflow's own format)."""
    return run_id("manual", logical_date)
