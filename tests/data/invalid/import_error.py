# expect: import_error.py:3: import error: ModuleNotFoundError: No module named 'no_such_package_xyz'; install the missing package
from airflow import DAG
import no_such_package_xyz  # noqa: F401
