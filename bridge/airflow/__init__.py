"""The only part of bridge's split side that imports Airflow and user DAG code."""
