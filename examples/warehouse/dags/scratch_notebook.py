"""A developer's scratch DAG that must never be parsed: `.airflowignore` excludes it.

Importing it fails (the module below does not exist), so an Airflow or bridge that parsed it anyway
would report an import error for this file.
"""

from airflow import DAG  # noqa: F401  (the words "airflow" and "DAG" pass Airflow's safe-mode check)

import warehouse_scratch_module_that_does_not_exist  # noqa: F401
