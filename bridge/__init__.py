"""bridge: run Apache Airflow DAGs on Argo Workflows, one container per task."""

__version__ = "0.1.0"
