"""Lost pods: the tasks `lost`, `lost_setup` and `lost_branch` fail (exit 1). Under `bridge run
--lose-pod` their pods are lost instead, as on a failed Kubernetes node: Error, no outputs at all.
Every task after them that can run after a failure (each trigger rule, a teardown whose other
setup succeeded, a branch's downstream that runs anyway) must end in the state Airflow gives it
when they fail (tests/parity/test_lost_pods.py)."""

import pendulum
from _compat import DAG, BashOperator, EmptyOperator, task

# Every rule but all_done_setup_success (the teardown below); all_done_min_one_success is Airflow 3's.
RULES = ("all_done", "all_failed", "all_skipped", "always", "none_skipped", "one_done", "one_failed", "one_success",
         "all_success", "none_failed", "none_failed_min_one_success")

with DAG("lost_pods", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:
    lost = BashOperator(task_id="lost", bash_command="echo pushed-before-failing; exit 1")
    ok = BashOperator(task_id="ok", bash_command="echo fine")
    skip_inside = BashOperator(task_id="skip_inside", bash_command="exit 99")  # skip_on_exit_code
    for rule in RULES:
        [lost, ok] >> EmptyOperator(task_id=f"{rule}__lost_ok", trigger_rule=rule)
        [lost, skip_inside] >> EmptyOperator(task_id=f"{rule}__lost_skip", trigger_rule=rule)

    @task(trigger_rule="all_done")
    def pull(ti=None):
        """Reads the lost task's XCom (none: it never pushed) and the other's."""
        got = ti.xcom_pull(task_ids=["ok", "lost"])
        assert list(got) == ["fine"], got

    [lost, ok] >> pull()

    lost_setup = BashOperator(task_id="lost_setup", bash_command="exit 1").as_setup()
    ok_setup = BashOperator(task_id="ok_setup", bash_command="echo set").as_setup()
    work = EmptyOperator(task_id="work")
    teardown = EmptyOperator(task_id="teardown").as_teardown(setups=[lost_setup, ok_setup])
    [lost_setup, ok_setup] >> work >> teardown

    @task.branch
    def lost_branch():
        raise RuntimeError("the branch fails before it decides")

    decided = lost_branch()
    decided >> EmptyOperator(task_id="after_branch_all_done", trigger_rule="all_done")
    decided >> EmptyOperator(task_id="after_branch_one_failed", trigger_rule="one_failed")
