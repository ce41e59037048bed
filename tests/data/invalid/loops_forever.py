# expect: loops_forever.py:\d+: import error: the file did not finish importing within 5.0 s \(Airflow's dagbag_import_timeout\); make the DAG file fast to import
from airflow import DAG  # noqa: F401

while True:  # the test sets AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT=5
    pass
