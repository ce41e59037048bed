"""A native KubernetesPodOperator pod's outcome, replayed through Airflow for its callbacks
(`bridge-task run --pod-exit-code CODE`, the `callbacks` step after the pod).

The pod ran with no Airflow in it, so no callback could fire there. This step runs the task on the
throwaway Airflow as any task runs, at the try the pod ended on, with only its `execute` replaced
by what the provider's own `execute` concludes from the pod (provider 10.25.0
`KubernetesPodOperator.cleanup`): the base container's exit code in `skip_on_exit_code` raises
AirflowSkipException, another non-zero code (or none: the pod never finished) raises
AirflowException, 0 returns. Airflow then sets the state and calls on_success_callback,
on_failure_callback or on_skipped_callback with its own context (try_number, exception), and the
step's exit code is that state's (docs/SEMANTICS.md, "KubernetesPodOperator").
"""

from __future__ import annotations

from typing import Any

from bridge.semantics import NO_EXIT_CODE  # what the step receives for a pod without an exit code


def exit_code(text: str) -> int | None:
    """The pod's exit code as given on the command line; None for a pod that has none."""
    if text.strip() in ("", NO_EXIT_CODE):
        return None
    return int(text)


def failed(task: Any, code: int | None) -> bool:
    """Whether the provider would fail the task for this exit code (a skip code skips it)."""
    return code not in (task.skip_on_exit_code or ()) and code != 0


def attempt(task: Any, code: int | None, given: int) -> int:
    """The try Airflow's state change happens at: Argo retried a failed pod until no try was
    left, so a failure is the last try's (on_failure_callback, never on_retry_callback)."""
    return max(given, int(getattr(task, "retries", 0) or 0)) if failed(task, code) else given


def install(task: Any, code: int | None) -> None:
    """Replace the task's execute (on its class: Airflow runs a rendered copy) by the pod's outcome."""
    from airflow.providers.common.compat.sdk import AirflowException, AirflowSkipException

    cls = type(task)

    # Airflow passes `context` by name; Airflow 2's ExecutorSafeguard adds a sentinel keyword.
    def execute(self: Any, context: Any, **_safeguard: Any) -> None:  # noqa: ARG001
        if code is not None and code in (self.skip_on_exit_code or ()):
            raise AirflowSkipException(f"Pod of task {self.task_id} returned exit code {code}. Skipping.")
        if code is None:
            raise AirflowException(f"Pod of task {self.task_id} did not finish (no exit code).")
        if code != 0:
            raise AirflowException(f"Pod of task {self.task_id} returned a failure (exit code {code}).")
        self.log.info("the pod of %s succeeded", self.task_id)

    cls.execute = execute
