"""`bridge-task`: run one task of a single-task DAG file on a throwaway Airflow."""
