"""Helpers shared by the warehouse DAGs, imported from the dags folder root (`from common.dates import ...`).

Airflow puts the dags folder on `sys.path`, so this package is importable from every DAG file,
including those in subfolders such as `reporting/`.
"""
