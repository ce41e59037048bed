#!/bin/sh
# A template file beside the DAG: its xcom_pull names a task two levels up.
test '{{ ti.xcom_pull(task_ids=["extract", "middle"])[0]["rows"] }}' = 3
