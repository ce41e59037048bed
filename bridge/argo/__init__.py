"""Argo Workflows' own languages, shared by `bridge lint` and `bridge run`. Pure, no I/O, no Airflow."""
