# expect: raises_at_import.py:6: import error: RuntimeError: cannot reach the config service; fix the error
from airflow import DAG  # noqa: F401


def config():
    raise RuntimeError("cannot reach the config service")


config()
