"""What a templated KubernetesPodOperator, or one with callbacks, costs over a plain one on Argo:
its render step, its callbacks step.

    python bench/kpo_render.py [--tasks N] [--runs R]

Two DAGs of N KubernetesPodOperator tasks in a chain, their command `sh -c true`: in one the
arguments are constant (native pods, no extra step), in the other they are `{{ ds }}` and
`{{ params.region }}` (each task is a render step, bridge-task on the throwaway Airflow, then the
pod), in a third they are constant but each task has an on_success_callback (the pod, then a
callbacks step: bridge-task concludes the task and calls it). All run with `bridge run` (host
engine, parallelism 1) R times; prints the median wall time of each, the added seconds per task,
and the ratios. On a cluster the render step adds a
pod's scheduling and start besides (not measured here). Informative only: nothing asserts it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

BIN = os.path.dirname(sys.executable)

SOURCE = textwrap.dedent(
    """\
    import pendulum
    from airflow import DAG
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    def noted(context):
        context["ti"].log.info("callback of %s", context["ti"].task_id)

    with DAG("{dag_id}", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None, params={{"region": "eu"}}):
        previous = None
        for number in range({tasks}):
            task = KubernetesPodOperator(task_id=f"pod_{{number}}", image="alpine:3.20", cmds=["sh", "-c", "true"],
                                         arguments={arguments}{extra})
            if previous is not None:
                previous >> task
            previous = task
    """
)


def run_once(folder: str, dag_id: str, tasks: int, arguments: str, extra: str = "") -> float:
    path = os.path.join(folder, dag_id, f"{dag_id}.py")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(SOURCE.format(dag_id=dag_id, tasks=tasks, arguments=arguments, extra=extra))
    start = time.monotonic()
    done = subprocess.run(
        [os.path.join(BIN, "bridge"), "run", path, "--run-date", "2024-01-02", "--parallelism", "1"],
        capture_output=True, text=True, check=False,
    )
    elapsed = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"bridge run of {dag_id} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    plain, templated, called = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(args.runs):
            plain.append(run_once(folder, f"plain_{run}", args.tasks, '["constant"]'))
            templated.append(run_once(folder, f"templated_{run}", args.tasks, '["{{ ds }}", "{{ params.region }}"]'))
            called.append(run_once(folder, f"callbacks_{run}", args.tasks, '["constant"]', ", on_success_callback=noted"))
    a, b, c = statistics.median(plain), statistics.median(templated), statistics.median(called)
    print(f"{args.tasks} KubernetesPodOperator tasks in a chain, bridge run (host), median of {args.runs}:")
    print(f"  plain (native pods only)      {a:7.2f} s")
    print(f"  templated (render + pod each) {b:7.2f} s")
    print(f"  callbacks (pod + callbacks)   {c:7.2f} s")
    print(f"  added per templated task      {(b - a) / args.tasks:7.2f} s   ratio {b / a:.2f}x")
    print(f"  added per task with callbacks {(c - a) / args.tasks:7.2f} s   ratio {c / a:.2f}x")


if __name__ == "__main__":
    main()
