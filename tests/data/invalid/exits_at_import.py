# expect: exits_at_import.py(:\d+)?: import error: the file called sys.exit\(3\) while it was imported; a DAG file must not exit
import sys

from airflow import DAG  # noqa: F401

sys.exit(3)
