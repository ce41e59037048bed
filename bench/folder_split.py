"""Whole-folder `bridge split` against Airflow's own parse of the same dags folder, one run.

    python bench/folder_split.py [--dags 200] [--tasks 10] [--runs 3] [--keep] [--profile]

Generates a deterministic dags folder the way projects look (a `common/` helper package at the
dags root with default_args, a task factory and a custom SQL operator; BashOperator with a `.sh`
template file under `scripts/`; PythonOperator and TaskFlow tasks; a `.sql` template read
through a template field; chains and fan-ins; DAGs in subfolders; an `.airflowignore` hiding a
scratch file that would not import). Then, each in a fresh process so import cost counts in both:

(a) parse: Airflow's DagBag over the folder (the baseline, measured in the same run);
(b) split: `bridge split FOLDER -o OUT` (the console script beside this Python).

Prints the median wall time, CPU time and peak RSS (the child's own, from os.wait4) of --runs samples and
the ratio split/parse (target <= 2x, issue 13). Timings are informative only: nothing asserts them.

--profile runs `bridge.split.split_project` of the folder in one process under cProfile and prints
the time per stage (load_project, build_plan, render_files, check_secrets, check_rendered = lint,
write_output) and the top cumulative hotspots, beside the DagBag parse of the same folder.
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

BIN = os.path.dirname(sys.executable)
SUBFOLDERS = ("", "", "finance", "marketing/reports")  # DAG i goes to SUBFOLDERS[i % 4]

COMMON_INIT = textwrap.dedent(
    """\
    \"\"\"Shared settings for every DAG of the project (imported from the dags folder root).\"\"\"
    import datetime as dt
    import os

    import pendulum

    DAGS_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    START = pendulum.datetime(2024, 1, 1, tz="UTC")
    DEFAULT_ARGS = {
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=5),
        "execution_timeout": dt.timedelta(hours=1),
    }


    def dag_kwargs(team, index):
        \"\"\"The DAG arguments every project DAG shares; templates are found from the dags root.\"\"\"
        return {
            "start_date": START,
            "schedule": ["@daily", "@hourly", "0 6 * * 1-5", None][index % 4],
            "catchup": False,
            "default_args": DEFAULT_ARGS,
            "template_searchpath": [DAGS_ROOT],
            "tags": [team, "generated"],
            "max_active_runs": 1,
        }
    """
)

COMMON_TASKS = textwrap.dedent(
    """\
    \"\"\"Task factory and a custom operator shared by the project's DAGs.\"\"\"
    import sqlite3

    try:
        from airflow.sdk import BaseOperator
        from airflow.providers.standard.operators.bash import BashOperator
        from airflow.providers.standard.operators.python import PythonOperator
    except ImportError:
        from airflow.models.baseoperator import BaseOperator
        from airflow.operators.bash import BashOperator
        from airflow.operators.python import PythonOperator


    class SqliteReport(BaseOperator):
        \"\"\"Runs a templated SQL file against an in-memory SQLite database.\"\"\"

        template_fields = ("sql",)
        template_ext = (".sql",)

        def __init__(self, *, sql, **kwargs):
            super().__init__(**kwargs)
            self.sql = sql

        def execute(self, context):
            rows = sqlite3.connect(":memory:").execute(self.sql).fetchall()
            return [list(row) for row in rows]


    def transform(table, factor, **context):
        \"\"\"A stand-in for real work: returns something small for XCom.\"\"\"
        return {"table": table, "rows": factor * 10, "ds": context["ds"]}


    def step(kind, task_id, index):
        \"\"\"One task of a generated DAG, by kind.\"\"\"
        if kind == "bash":
            return BashOperator(task_id=task_id, bash_command="scripts/step.sh",
                                params={"step": index}, env={"STEP": str(index)}, append_env=True)
        if kind == "sql":
            return SqliteReport(task_id=task_id, sql="sql/report.sql", params={"step": index})
        return PythonOperator(task_id=task_id, python_callable=transform,
                              op_kwargs={"table": f"t_{index}", "factor": index})
    """
)

STEP_SH = textwrap.dedent(
    """\
    #!/usr/bin/env bash
    set -euo pipefail
    echo "step {{ params.step }} for {{ ds }} (run {{ run_id }})"
    echo "STEP=$STEP"
    """
)

REPORT_SQL = textwrap.dedent(
    """\
    -- a daily report, rendered by Jinja before it runs
    SELECT '{{ ds }}' AS day, {{ params.step }} AS step, 42 AS total
    """
)

# Classic operators through the factory: a bash start, a fan-out of python transforms,
# a fan-in into a SQL report, then a chain of the remaining steps.
CLASSIC = textwrap.dedent(
    """\
    from airflow import DAG

    from common import dag_kwargs
    from common.tasks import step

    with DAG("{dag_id}", **dag_kwargs("{team}", {index})) as dag:
        start = step("bash", "start", 0)
        fan = [step("python", f"transform_{{i}}", i) for i in range(1, {fan} + 1)]
        report = step("sql", "report", {fan} + 1)
        start >> fan >> report
        previous = report
        for i in range({fan} + 2, {tasks}):
            current = step("bash" if i % 2 else "python", f"publish_{{i}}", i)
            previous >> current
            previous = current
    """
)

# TaskFlow: @dag/@task with XCom passing, plus a templated bash step and the SQL report.
TASKFLOW = textwrap.dedent(
    """\
    try:
        from airflow.sdk import dag, task
    except ImportError:
        from airflow.decorators import dag, task

    from common import dag_kwargs
    from common.tasks import step


    @dag(dag_id="{dag_id}", **dag_kwargs("{team}", {index}))
    def pipeline():
        @task
        def extract(part: int) -> dict:
            return {{"part": part, "rows": part * 3}}

        @task
        def combine(parts: list) -> int:
            return sum(p["rows"] for p in parts)

        start = step("bash", "start", 0)
        parts = [extract.override(task_id=f"extract_{{i}}")(i) for i in range(1, {fan} + 1)]
        total = combine(parts)
        start >> parts
        report = step("sql", "report", {fan} + 2)
        total >> report
        previous = report
        for i in range({fan} + 3, {tasks}):
            current = step("python", f"publish_{{i}}", i)
            previous >> current
            previous = current


    pipeline()
    """
)

# Ignored by .airflowignore: if the ignore file were not honoured, the DagBag would report it.
SCRATCH = 'from airflow import DAG\nraise RuntimeError("scratch file: must be ignored by .airflowignore")\n'


def generate(root: str, dags: int, tasks: int) -> str:
    """Write the dags folder under `root`; return its path. Same arguments, same bytes."""
    if tasks < 5:
        raise SystemExit("--tasks must be at least 5 (start, fan-out, fan-in, report)")
    folder = os.path.join(root, "dags")
    files = {
        "common/__init__.py": COMMON_INIT,
        "common/tasks.py": COMMON_TASKS,
        "scripts/step.sh": STEP_SH,
        "sql/report.sql": REPORT_SQL,
        # Both syntaxes match it: regexp (Airflow 2's default) and glob (Airflow 3's).
        ".airflowignore": "scratch\n",
        "scratch/try_me.py": SCRATCH,
    }
    fan = max(2, (tasks - 2) // 3)
    for i in range(dags):
        team = SUBFOLDERS[i % len(SUBFOLDERS)] or "core"
        sub = SUBFOLDERS[i % len(SUBFOLDERS)]
        dag_id = f"{team.replace('/', '_')}_pipeline_{i:04d}"
        source = (TASKFLOW if i % 3 == 2 else CLASSIC).format(dag_id=dag_id, team=team, index=i, fan=fan, tasks=tasks)
        files[os.path.join(sub, f"{dag_id}.py")] = source
    for rel, text in files.items():
        path = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
    return folder


def dag_files(folder: str) -> list[str]:
    """The generated DAG files (not the helpers, not the ignored scratch file), sorted."""
    found = []
    for directory, subdirs, names in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if d not in {"common", "scratch", "__pycache__"})
        found += [os.path.join(directory, n) for n in names if n.endswith(".py")]
    return sorted(found)


def airflow_env(home: str, dags_folder: str) -> dict[str, str]:
    """A throwaway Airflow home and SQLite database, examples off, Airflow's chatter down (as bridge sets it).

    DAGS_FOLDER is what Airflow puts on sys.path at import, so `from common import ...` resolves.
    """
    os.makedirs(home, exist_ok=True)
    return {
        **os.environ,
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
        "AIRFLOW_HOME": home,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": dags_folder,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__METRICS__TIMER_UNIT_CONSISTENCY": "True",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
    }


# Airflow's own parse of the folder: the baseline. Prints what it found for the check.
PARSE = textwrap.dedent(
    """\
    import json, sys
    sys.path.append(sys.argv[1])  # as Airflow's DAG processor does with the dags folder (bundle path)
    try:
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder=sys.argv[1])
    except ImportError:
        from airflow.models.dagbag import DagBag
        bag = DagBag(dag_folder=sys.argv[1], include_examples=False)
    print(json.dumps({"dags": len(bag.dags), "import_errors": {k: v[-300:] for k, v in bag.import_errors.items()}}))
    """
)


def run_child(command: list[str], env: dict[str, str], scratch: str) -> dict:
    """Run one command; its wall and CPU seconds and peak RSS (os.wait4: this child's own), exit code, output."""
    import time

    with open(os.path.join(scratch, "child.out"), "w+") as out, open(os.path.join(scratch, "child.err"), "w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
                "code": child.returncode,
                "stdout": out.read(), "stderr": err.read()}


def check_parse(result: dict, dags: int) -> None:
    """The generator must give exactly `dags` DAGs and no import errors; anything else is a bench bug."""
    if result["code"] != 0:
        sys.exit(f"DagBag parse failed (exit {result['code']}): {result['stderr'][-2000:]}")
    found = json.loads(result["stdout"].strip().splitlines()[-1])
    if found["import_errors"] or found["dags"] != dags:
        sys.exit(f"generator bug: DagBag found {found['dags']} DAGs (expected {dags}) and import errors "
                 f"{json.dumps(found['import_errors'], indent=1)}")


def parse_sample(folder: str, dags: int, scratch: str, i: int) -> dict:
    """One baseline sample: DagBag over the folder in a fresh process."""
    result = run_child([sys.executable, "-c", PARSE, folder], airflow_env(os.path.join(scratch, f"home-parse-{i}"), folder),
                       scratch)
    check_parse(result, dags)
    return result


def median(samples: list[dict]) -> dict[str, float]:
    """Median seconds (wall and CPU) and median peak RSS of the samples."""
    return {"seconds": statistics.median(s["seconds"] for s in samples),
            "cpu": statistics.median(s["cpu"] for s in samples),
            "rss_mb": statistics.median(s["rss_mb"] for s in samples)}


def measure(folder: str, dags: int, runs: int, scratch: str) -> tuple[dict, dict | None, str]:
    """Median parse and split over `runs` interleaved samples; split is None (with the reason) if it failed."""
    parses, splits = [], []
    failure = ""
    for i in range(runs):
        parses.append(parse_sample(folder, dags, scratch, i))
        if failure:  # still sample the baseline, for the record
            continue
        out = os.path.join(scratch, f"out-{i}")
        result = run_child([os.path.join(BIN, "bridge"), "split", folder, "-o", out],
                           airflow_env(os.path.join(scratch, f"home-split-{i}"), folder), scratch)
        if result["code"] != 0:
            lines = (result["stdout"] + result["stderr"]).strip().splitlines() or ["(no output)"]
            failure = f"exit {result['code']}: {lines[-1][:300]}"
            continue
        splits.append(result)
    return median(parses), (median(splits) if splits else None), failure


# --profile: the folder split in one process, cProfile on, each stage timed.
STAGES = {
    "load_project": "bridge.airflow.project",
    "build_plan": "bridge.split",
    "render_files": "bridge.split",
    "check_secrets": "bridge.split",
    "check_rendered": "bridge.split",
    "lint_files": "bridge.lint",
    "write_output": "bridge.split",
}
INNER = {"lint_files"}  # called inside check_rendered: timed, not profiled apart


def profile_worker(folder: str, out: str, top: int, cprofile: bool) -> None:
    """In this process: bridge.split.split_project of the folder, timing stages; print JSON then the profile.

    Each top-level stage has its own profiler, so the hotspots of a cheap stage are not drowned
    by an expensive one; the first table merges them (the whole split minus importing bridge).
    """
    import cProfile
    import functools
    import importlib
    import io
    import pstats
    import time

    totals = dict.fromkeys(STAGES, 0.0)
    profilers = {name: cProfile.Profile() for name in STAGES if name not in INNER}

    def timed(name, function):
        profiler = profilers.get(name) if cprofile else None

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            try:
                return function(*args, **kwargs)
            finally:
                if profiler is not None:
                    profiler.disable()
                totals[name] += time.perf_counter() - start
        return wrapper

    start = time.perf_counter()
    import bridge.split as split
    for name, module_name in STAGES.items():  # patched where split_project looks them up at call time
        module = importlib.import_module(module_name)
        setattr(module, name, timed(name, getattr(module, name)))
    imported = time.perf_counter() - start
    failures: dict[str, str] = {}
    tasks = 0
    try:
        tasks = sum(dag.task_count for dag in split.split_project(folder, output=out).dags)
    except Exception as exc:  # noqa: BLE001 (reported: why the split refused the folder)
        failures[folder] = f"{type(exc).__name__}: {exc}"[:300]
    total = time.perf_counter() - start
    stream = io.StringIO()
    if cprofile:
        stream.write(f"== top {top} cumulative, all stages\n")
        pstats.Stats(*profilers.values(), stream=stream).sort_stats("cumulative").print_stats(top)
        for name, profiler in profilers.items():
            if totals[name] >= 0.01 * total:
                stream.write(f"== top {top // 3} cumulative within {name}\n")
                pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(top // 3)
    print(json.dumps({"total": total, "import": imported, "stages": totals, "tasks": tasks, "failures": failures}))
    print(stream.getvalue())


def profile(folder: str, dags: int, scratch: str, top: int, cprofile: bool) -> None:
    """Run the profile worker and the DagBag baseline in fresh processes; print both."""
    parse = parse_sample(folder, dags, scratch, 0)
    result = run_child([sys.executable, os.path.abspath(__file__), "--profile-worker", folder,
                        "--profile-out", os.path.join(scratch, "profile-out"), "--top", str(top)]
                       + ([] if cprofile else ["--no-cprofile"]),
                       airflow_env(os.path.join(scratch, "home-profile"), folder), scratch)
    if result["code"] != 0:
        sys.exit(f"profile run failed (exit {result['code']}): {result['stderr'][-3000:]}")
    head, _, stats = result["stdout"].partition("\n")
    found = json.loads(head)
    files = len(dag_files(folder))
    print(f"  {'(a) DagBag parse of the folder':<45} {parse['seconds']:7.2f} s   CPU {parse['cpu']:7.2f} s   "
          f"peak RSS {parse['rss_mb']:7.1f} MB")
    label = f"split_project of {files} files, one process" + (", cProfile" if cprofile else "")
    print(f"  {label:<45} {result['seconds']:7.2f} s   CPU {result['cpu']:7.2f} s   "
          f"peak RSS {result['rss_mb']:7.1f} MB   ({found['tasks']} tasks split)")
    print(f"    {'import bridge.split':<40} {found['import']:7.2f} s")
    for name, seconds in found["stages"].items():
        label = f"  {name} (in check_rendered)" if name in INNER else name
        print(f"    {label:<40} {seconds:7.2f} s   {seconds / max(found['total'], 1e-9):5.1%}")
    note = " (cProfile inflates this; --no-cprofile)" if cprofile else ""
    print(f"  split/parse time {result['seconds'] / parse['seconds']:.2f}x (target <= 2){note}   "
          f"split/parse RSS {result['rss_mb'] / parse['rss_mb']:.2f}x")
    for rel, reason in sorted(found["failures"].items())[:5]:
        print(f"    refused: {rel}: {reason}")
    if len(found["failures"]) > 5:
        print(f"    ... and {len(found['failures']) - 5} more refused")
    print(stats.strip())


def main() -> None:
    """Parse flags, generate the folder, measure (or profile), print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dags", type=int, default=200, help="DAG files to generate")
    parser.add_argument("--tasks", type=int, default=10, help="tasks per DAG (at least 5)")
    parser.add_argument("--runs", type=int, default=3, help="samples per variant (median is reported)")
    parser.add_argument("--keep", action="store_true", help="keep the generated folder and outputs (path printed)")
    parser.add_argument("--profile", action="store_true", help="profile today's per-file split in one process instead")
    parser.add_argument("--top", type=int, default=25, help="hotspots to print with --profile")
    parser.add_argument("--no-cprofile", action="store_true",
                        help="with --profile: stage times only, without cProfile's overhead")
    parser.add_argument("--profile-worker", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile_worker:
        profile_worker(args.profile_worker, args.profile_out, args.top, not args.no_cprofile)
        return
    root = tempfile.mkdtemp(prefix="bridge-bench-folder-")
    try:
        folder = generate(root, args.dags, args.tasks)
        from bridge.version_compat import AIRFLOW_VERSION

        print(f"Airflow {AIRFLOW_VERSION}, Python {sys.version.split()[0]}, {args.dags} DAGs x {args.tasks} tasks"
              + ("" if args.profile else f", median of {args.runs} runs"))
        if args.profile:
            profile(folder, args.dags, root, args.top, not args.no_cprofile)
            return
        parse, split, failure = measure(folder, args.dags, args.runs, root)
        print(f"  (a) parse: DagBag of the folder        {parse['seconds']:7.2f} s   CPU {parse['cpu']:7.2f} s   "
              f"peak RSS {parse['rss_mb']:7.1f} MB")
        if split is None:
            sys.exit(f"  (b) split: bridge split FOLDER failed: {failure}")
        print(f"  (b) split: bridge split FOLDER -o OUT  {split['seconds']:7.2f} s   CPU {split['cpu']:7.2f} s   "
              f"peak RSS {split['rss_mb']:7.1f} MB")
        print(f"  split/parse time {split['seconds'] / parse['seconds']:.2f}x (target <= 2)   "
              f"CPU {split['cpu'] / parse['cpu']:.2f}x   "
              f"split/parse RSS {split['rss_mb'] / parse['rss_mb']:.2f}x")
    finally:
        if args.keep:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
