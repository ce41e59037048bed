"""How `bridge split` scales: 100 to 5,000 tasks, four DAG shapes, one run.

    python bench/split_scale.py [--sizes 100,500,1000,5000] [--shapes chain,fanout,groups,dense,longids,bash,layers]

For each DAG it reports, from a fresh process: Airflow's own DAG parse (DagBag), the rest of
`bridge split` (describe, plan, emit, lint, write), the Workflow's size as YAML and as Argo measures
it (compact JSON with Go's HTML escaping, as bridge.lint.rules.stored_size) in bytes per task, the
process's peak memory, and the node status a run adds (bridge.argo.status: plain and gzip+base64)
with how the run's object fits Argo's 1 MiB: as is, compressed, or only with node status offloading.
Targets (docs/LINT.md): split time linear (5,000 tasks within 10x of 500), at most 250 bytes of
Workflow per task.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

HEADER = '''import pendulum
from airflow import DAG
try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.empty import EmptyOperator
try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:
    from airflow.operators.bash import BashOperator
try:
    from airflow.sdk import TaskGroup
except ImportError:
    from airflow.utils.task_group import TaskGroup
N = {n}
with DAG("scale_{shape}_{n}", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
'''
BODIES = {
    "chain": "    ts = [EmptyOperator(task_id=f'task_{i:05d}') for i in range(N)]\n"
             "    for a, b in zip(ts, ts[1:]):\n        a >> b\n",
    "fanout": "    s, e = EmptyOperator(task_id='start'), EmptyOperator(task_id='end')\n"
              "    mid = [EmptyOperator(task_id=f'work_{i:05d}') for i in range(N - 2)]\n    s >> mid >> e\n",
    "groups": "    prev = EmptyOperator(task_id='start')\n    for g in range(N // 50):\n"
              "        with TaskGroup(f'group_{g:03d}') as tg:\n"
              "            steps = [EmptyOperator(task_id=f'step_{i:02d}') for i in range(50 - (g == 0))]\n"
              "            for a, b in zip(steps, steps[1:]):\n                a >> b\n"
              "        prev >> tg\n        prev = tg\n",
    # every task of a group downstream of every task of the previous one: 2,500 edges per pair
    "dense": "    prev = EmptyOperator(task_id='start')\n    for g in range(N // 50):\n"
             "        with TaskGroup(f'group_{g:03d}') as tg:\n"
             "            [EmptyOperator(task_id=f'step_{i:02d}') for i in range(50 - (g == 0))]\n"
             "        prev >> tg\n        prev = tg\n",
    "longids": "    ts = [EmptyOperator(task_id=f'step_{i:05d}_' + 'a_rather_long_descriptive_task_name_' * 5) for i in range(N)]\n"
               "    for a, b in zip(ts, ts[1:]):\n        a >> b\n",
    # the same 45-character ids on Bash tasks: each may skip itself (exit 99) and push an XCom, so
    # each reads its upstream's state and XCom (EmptyOperators do neither: docs/SEMANTICS.md, "Size")
    "bash": "    ts = [BashOperator(task_id=f'extract_and_load_partition_{i:05d}_of_the_day', bash_command='echo ok') for i in range(N)]\n"
            "    for a, b in zip(ts, ts[1:]):\n        a >> b\n",
    # issue 16's DAG: 30 layers (N=3060) of 100 tasks with 45-character ids, each layer opened and
    # joined through one task
    "layers": "    prev = None\n    for layer in range(N // 102):\n"
              "        start = EmptyOperator(task_id=f'layer_{layer:02d}_partitions_ready_to_be_loaded_ok')\n"
              "        work = [EmptyOperator(task_id=f'layer_{layer:02d}_extract_and_load_partition_{i:03d}_daily') for i in range(100)]\n"
              "        join = EmptyOperator(task_id=f'layer_{layer:02d}_all_partitions_loaded_and_checked_ok')\n"
              "        if prev is not None:\n            prev >> start\n"
              "        start >> work >> join\n        prev = join\n",
}

MEASURE = r'''
import json, os, resource, sys, time
from bridge.airflow import compat
timing = {}
make = compat.make_dagbag
def timed(path, **options):
    start = time.perf_counter()
    try:
        return make(path, **options)
    finally:
        timing["parse"] = time.perf_counter() - start
compat.make_dagbag = timed
import bridge.split as split
seen = {}
check = split.check_rendered
def checked(plan, files, *rest):
    text = next(v for k, v in files.items() if k.startswith("workflows/"))
    seen.update(plan=plan, text=text.decode() if isinstance(text, bytes) else text)
    return check(plan, files, *rest)
split.check_rendered = checked
start = time.perf_counter()
error = ""
try:
    split.split_dag(sys.argv[1], output=sys.argv[2])
except Exception as exc:  # a DAG over 1 MiB: still report its time and size
    error = str(exc).split(": ", 1)[-1][:160]
total = time.perf_counter() - start
import yaml
text = seen["text"]
doc = yaml.safe_load(text)
# As Argo measures it (workflow/packer getSize: Go's json.Marshal, which writes & < > as \u0026 ...).
compact = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
compact = len(compact.encode()) + 5 * sum(compact.count(c) for c in "&<>")
from bridge.argo.status import status_bytes, typical_nodes
status, status_gz = status_bytes(typical_nodes(doc["spec"]))
print(json.dumps({"tasks": len(seen["plan"].tasks), "parse": timing["parse"], "bridge": total - timing["parse"],
                  "yaml": len(text), "json": compact, "error": error, "status": status, "status_gz": status_gz,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def measure(shape: str, size: int, folder: str) -> dict:
    """Split one generated DAG in a fresh process and return its numbers."""
    # Each DAG alone in its dags folder: bridge split copies and reads the DAG's whole folder (a project).
    dags = os.path.join(folder, f"dags-{shape}-{size}")
    os.makedirs(dags)
    path = os.path.join(dags, f"scale_{shape}_{size}.py")
    with open(path, "w") as handle:
        handle.write(HEADER.format(n=size, shape=shape) + BODIES[shape])
    env = dict(os.environ, AIRFLOW_HOME=os.path.join(folder, "airflow-home"), AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="600")
    out = subprocess.run([sys.executable, "-c", MEASURE, path, os.path.join(folder, f"out-{shape}-{size}")],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return {"failed": (out.stdout + out.stderr).strip().splitlines()[-1][:200]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fits(row: dict) -> str:
    """How a run's Workflow object fits Argo's 1 MiB: as is, with its node status compressed, or offloaded."""
    limit = 1024 * 1024
    if row["json"] + row["status"] <= limit:
        return "as is"
    return "compressed" if row["json"] + row["status_gz"] <= limit else "needs offload"


def main() -> None:
    """Run every shape and size and print one table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,500,1000,5000")
    parser.add_argument("--shapes", default=",".join(BODIES))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'shape':8} {'tasks':>6} {'parse s':>8} {'split s':>8} {'YAML B/task':>12} {'JSON B/task':>12} "
          f"{'JSON KiB':>9} {'peak MB':>8} {'status KiB':>10} {'gz KiB':>7}  run fits")
    with tempfile.TemporaryDirectory() as folder:
        for shape in args.shapes.split(","):
            rows = {}
            for size in sizes:
                row = measure(shape, size, folder)
                rows[size] = row
                if "failed" in row:
                    print(f"{shape:8} {size:>6} {row['failed']}")
                    continue
                n = row["tasks"]
                print(f"{shape:8} {n:>6} {row['parse']:>8.2f} {row['bridge']:>8.2f} {row['yaml'] / n:>12.0f} "
                      f"{row['json'] / n:>12.0f} {row['json'] / 1024:>9.0f} {row['rss_mb']:>8.0f} "
                      f"{row['status'] / 1024:>10.0f} {row['status_gz'] / 1024:>7.0f}  {_fits(row)}"
                      + (f"  refused: {row['error']}" if row["error"] else ""), flush=True)
            if 500 in rows and 5000 in rows and "failed" not in rows[500] and "failed" not in rows[5000]:
                ratio = rows[5000]["bridge"] / max(rows[500]["bridge"], 1e-9)
                print(f"{shape:8} split time 5000/500 tasks: {ratio:.1f}x (linear: 10x)")


if __name__ == "__main__":
    main()
