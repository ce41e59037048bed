"""Time and memory of running one trivial Airflow task three ways, on the installed Airflow line.

    python bench/task_overhead.py [--runs N]

(a) floor:    a fresh Python imports Airflow and BashOperator and calls execute() directly;
(b) original: fresh `airflow db migrate`, then `airflow dags backfill` (Airflow 2) or
              `airflow dags test` (Airflow 3) of a single-task DAG file;
(c) bridge:   `bridge-task run` of the same file (database template prepared once, as
              the image build does);
(d) retry:    `bridge-task run` of a try that fails into up_for_retry (retries=1, `exit 1`),
              Airflow 3's direct Execution API path answering the retry call;
(e) retry, app: the same try with Airflow's own Execution API app answering every call
              (BRIDGE_FULL_EXECUTION_API=1; Airflow 3 only): what the retry call cost when it
              went to the app.
Prints the median wall time and median peak RSS (largest process of the sample, from
getrusage(RUSAGE_CHILDREN) in a per-sample wrapper) and the ratios. Timings are
informative only: nothing asserts them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap

from bridge.version_compat import AIRFLOW_MAJOR, AIRFLOW_VERSION

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)
DATE = "2024-01-02"

SOURCE = textwrap.dedent(
    """\
    import pendulum
    try:
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.bash import BashOperator
    except ImportError:
        from airflow import DAG
        from airflow.operators.bash import BashOperator

    with DAG("bench", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule="@daily") as dag:
        BashOperator(task_id="hello", bash_command="echo hello")
    """
)

TASK_FILE = textwrap.dedent(
    """\
    from bridge.dagfile import single_task_dag
    # airflow dag
    dag = single_task_dag(__file__, source="../../sources/bench/bench.py", dag_id="bench", task_id="hello")
    """
)

FLOOR = textwrap.dedent(
    """\
    try:
        from airflow.providers.standard.operators.bash import BashOperator
    except ImportError:
        from airflow.operators.bash import BashOperator
    BashOperator(task_id="hello", bash_command="echo hello").execute({})
    """
)

# Runs in its own process per sample: times the commands and reports the peak RSS of its
# descendants (the wrapper's own memory is not counted).
WRAPPER = textwrap.dedent(
    """\
    import json, resource, subprocess, sys, time
    commands, env, allowed = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
    start = time.perf_counter()
    for command in commands:
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode != 0 and done.returncode not in allowed:
            sys.exit(f"{command} failed: {done.stderr.decode()[-2000:]}")
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
    """
)


def layout(root: str) -> str:
    """Write the DAG source and its single-task file as `bridge split` does; return the task file."""
    os.makedirs(os.path.join(root, "sources", "bench"))
    os.makedirs(os.path.join(root, "dags", "bench"))
    with open(os.path.join(root, "sources", "bench", "bench.py"), "w") as handle:
        handle.write(SOURCE)
    task_file = os.path.join(root, "dags", "bench", "hello.py")
    with open(task_file, "w") as handle:
        handle.write(TASK_FILE)
    # (d), (e): another DAG, so that (b) runs exactly one task.
    os.makedirs(os.path.join(root, "sources", "bench_retry"))
    os.makedirs(os.path.join(root, "dags", "bench_retry"))
    with open(os.path.join(root, "sources", "bench_retry", "bench_retry.py"), "w") as handle:
        handle.write(SOURCE.replace('"bench"', '"bench_retry"').replace(
            'BashOperator(task_id="hello", bash_command="echo hello")',
            'BashOperator(task_id="retry", bash_command="exit 1", retries=1)'))
    with open(os.path.join(root, "dags", "bench_retry", "retry.py"), "w") as handle:
        handle.write(TASK_FILE.replace("bench/bench.py", "bench_retry/bench_retry.py")
                     .replace('dag_id="bench"', 'dag_id="bench_retry"').replace('"hello"', '"retry"'))
    return task_file


def airflow_env(home: str, dags_folder: str) -> dict[str, str]:
    """A fresh Airflow home with a fresh SQLite database."""
    os.makedirs(home, exist_ok=True)
    return {
        **os.environ,
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),  # the executor runs `airflow tasks run`
        "AIRFLOW_HOME": home,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": dags_folder,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }


def sample(commands: list[list[str]], env: dict[str, str], allowed: tuple[int, ...] = ()) -> dict[str, float]:
    """One timed run of `commands` in a wrapper process; `allowed`: exit codes of a command that are not errors."""
    done = subprocess.run([sys.executable, "-c", WRAPPER, json.dumps(commands), json.dumps(env), json.dumps(allowed)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(done.stderr.strip())
    return json.loads(done.stdout)


def measure(root: str, task_file: str, runs: int) -> dict[str, dict[str, float]]:
    """Median seconds and peak RSS for (a) to (e)."""
    airflow = os.path.join(BIN, "airflow")
    dags_folder = os.path.dirname(task_file)
    template_dir = os.path.join(root, "template")
    subprocess.run([sys.executable, "-m", "bridge.runtime", "prepare", "--dir", template_dir],
                   check=True, capture_output=True, env=airflow_env(os.path.join(root, "prep"), dags_folder))
    template = os.path.join(template_dir, f"airflow-{AIRFLOW_VERSION}.db")
    if AIRFLOW_MAJOR >= 3:
        recipe = [[airflow, "db", "migrate"], [airflow, "dags", "test", "bench", DATE]]
    else:
        recipe = [[airflow, "db", "migrate"],
                  [airflow, "dags", "backfill", "-s", DATE, "-e", DATE, "-S", task_file, "bench"]]
    results: dict[str, list[dict[str, float]]] = {"a": [], "b": [], "c": [], "d": []}
    if AIRFLOW_MAJOR >= 3:
        results["e"] = []
    retry_file = os.path.join(root, "dags", "bench_retry", "retry.py")
    for i in range(runs):
        home = os.path.join(root, f"home-{i}")
        results["a"].append(sample([[sys.executable, "-c", FLOOR]], airflow_env(home + "-a", dags_folder)))
        results["b"].append(sample(recipe, airflow_env(home + "-b", dags_folder)))
        bridge = [sys.executable, "-m", "bridge.runtime", "run", task_file, "--run-date", DATE,
                  "--outputs", os.path.join(root, f"out-{i}")]
        env = {**airflow_env(home + "-c", dags_folder), "BRIDGE_DB_TEMPLATE": template}
        results["c"].append(sample([bridge], env))
        retry = [sys.executable, "-m", "bridge.runtime", "run", retry_file, "--run-date", DATE]
        results["d"].append(sample([retry], env, allowed=(1,)))
        if "e" in results:
            results["e"].append(sample([retry], {**env, "BRIDGE_FULL_EXECUTION_API": "1"}, allowed=(1,)))
    return {
        name: {
            "seconds": statistics.median(s["seconds"] for s in samples),
            "rss_mb": statistics.median(s["rss_kb"] for s in samples) / 1024,
        }
        for name, samples in results.items()
    }


def main() -> None:
    """Parse flags, measure, print a small table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="samples per variant (median is reported)")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bridge-bench-")
    try:
        task_file = layout(root)
        m = measure(root, task_file, args.runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    recipe = "db migrate + dags test" if AIRFLOW_MAJOR >= 3 else "db migrate + dags backfill"
    print(f"Airflow {AIRFLOW_VERSION}, Python {sys.version.split()[0]}, "
          f"median of {args.runs} runs, trivial BashOperator")
    labels = {"a": "(a) floor: import + execute()", "b": f"(b) original: {recipe}", "c": "(c) bridge-task run",
              "d": "(d) a try ending up_for_retry", "e": "(e) (d) with Airflow's API app"}
    for key, label in labels.items():
        if key not in m:
            continue
        print(f"  {label:<40} {m[key]['seconds']:7.2f} s   peak RSS {m[key]['rss_mb']:7.1f} MB")
    print(f"  b/c time {m['b']['seconds'] / m['c']['seconds']:.2f}x (target >= 4)   "
          f"c/a time {m['c']['seconds'] / m['a']['seconds']:.2f}x (target <= 1.5)   "
          f"c/a RSS {m['c']['rss_mb'] / m['a']['rss_mb']:.2f}x (target <= 1.3)")
    retry = f"  d/c time {m['d']['seconds'] / m['c']['seconds']:.2f}x (a retried try against a successful one)"
    if "e" in m:
        retry += f"   e/d time {m['e']['seconds'] / m['d']['seconds']:.2f}x   e/d RSS {m['e']['rss_mb'] / m['d']['rss_mb']:.2f}x"
    print(retry)


if __name__ == "__main__":
    main()
