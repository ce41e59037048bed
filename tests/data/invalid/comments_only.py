# expect: comments_only.py: no DAG found; the file must create an Airflow DAG at import time
# An empty DAG file: only comments.
