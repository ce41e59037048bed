"""The warehouse plugin: a macro every template can call as `{{ macros.warehouse.fiscal_quarter(ds) }}`.

Airflow imports each module of the plugins folder and registers the `AirflowPlugin` subclasses it
finds; a plugin's `macros` become `macros.<plugin name>.<function name>` in templates.
"""

from __future__ import annotations

import datetime

from airflow.plugins_manager import AirflowPlugin

FISCAL_YEAR_START_MONTH = 2  # the warehouse's fiscal year starts on 1 February


def fiscal_quarter(ds: str) -> str:
    """`FY<year>-Q<n>` of the day `ds`; a fiscal year is named after the calendar year it starts in."""
    day = datetime.date.fromisoformat(ds)
    months = (day.month - FISCAL_YEAR_START_MONTH) % 12
    year = day.year if day.month >= FISCAL_YEAR_START_MONTH else day.year - 1
    return f"FY{year}-Q{months // 3 + 1}"


class WarehousePlugin(AirflowPlugin):
    name = "warehouse"
    macros = [fiscal_quarter]
