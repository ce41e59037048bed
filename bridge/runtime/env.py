"""Process environment for a throwaway Airflow; must run BEFORE `airflow` is imported."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from bridge.version_compat import AIRFLOW_3, AIRFLOW_VERSION

STATE_DIR_ENV = "BRIDGE_STATE_DIR"
TEMPLATE_ENV = "BRIDGE_DB_TEMPLATE"
KEEP_STATE_ENV = "BRIDGE_KEEP_STATE"
DB_NAME = "airflow.db"


def default_template_path() -> str:
    """Where `prepare` writes the migrated database: next to the interpreter, so the image build owns it."""
    return os.path.join(sys.prefix, "share", "bridge", f"airflow-{AIRFLOW_VERSION}.db")


def template_path() -> str:
    """`$BRIDGE_DB_TEMPLATE`, else the default per-installation path."""
    return os.environ.get(TEMPLATE_ENV) or default_template_path()


def make_state_dir() -> str:
    """A fresh private directory under `$BRIDGE_STATE_DIR`, else `$TMPDIR`/`/tmp` (root fs may be read-only)."""
    parent = os.environ.get(STATE_DIR_ENV) or tempfile.gettempdir()
    os.makedirs(parent, exist_ok=True)
    return tempfile.mkdtemp(prefix="bridge-task-", dir=parent)


def remove_state_dir(path: str) -> None:
    """Delete the throwaway database unless `$BRIDGE_KEEP_STATE` asks to keep it for debugging."""
    if os.environ.get(KEEP_STATE_ENV):
        print(f"bridge-task: kept state in {path}", file=sys.stderr)
        return
    shutil.rmtree(path, ignore_errors=True)


def plugins_folder(task_file: str) -> str:
    """The project's plugins folder: `plugins/` of the split output holding the task file ("" when none).

    A task file is `<output>/dags/<dag_id>/<task_id>.py` (docs/DESIGN.md, "Projects").
    """
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(task_file))))
    folder = os.path.join(root, "plugins")
    return folder if os.path.isdir(folder) else ""


def airflow_environment(state_dir: str, dags_folder: str, db_path: str, plugins: str = "") -> dict[str, str]:
    """AIRFLOW_* settings pointing Airflow at the throwaway home and SQLite file (and the project's plugins)."""
    home = os.path.join(state_dir, "home")
    os.makedirs(home, exist_ok=True)
    env = {
        "AIRFLOW_HOME": home,
        "AIRFLOW_CONFIG": os.path.join(home, "airflow.cfg"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db_path}",
        "AIRFLOW__CORE__DAGS_FOLDER": dags_folder,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PLUGINS_FOLDER": plugins or os.path.join(home, "plugins"),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": os.path.join(home, "logs"),
        # One task, one process: nothing may wait on a scheduler or a migration check.
        "AIRFLOW__DATABASE__CHECK_MIGRATIONS": "False",
        "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "True",
        "AIRFLOW__CORE__LAZY_DISCOVER_PROVIDERS": "True",
    }
    if not AIRFLOW_3:
        env["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"
    return env


def apply_environment(env: dict[str, str], overrides: dict[str, str] | None = None) -> None:
    """Export `env` (and `overrides`) into this process; refuses once Airflow is already imported."""
    if "airflow" in sys.modules and "airflow.settings" in sys.modules:
        raise RuntimeError("bridge-task: Airflow was imported before its environment was set")
    os.environ.update(env)
    if overrides:
        os.environ.update(overrides)
