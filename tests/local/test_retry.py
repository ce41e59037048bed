"""The retry decision (operator.go processNodeRetries) as a pure function: no threads, no clock."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.local.retry import BACKOFF, FINISH, RETRY, RetryDecision, decide_retry


def decide(retry: Any, attempts: int = 1, phase: str = "Failed", *, now: float = 100.0, first_started: float = 90.0,
           last_finished: float = 100.0, deadline_passed: bool = False, in_backoff: bool = False, scale: float = 1.0,
           exit_code: int | None = 1) -> RetryDecision:
    return decide_retry(retry, attempts=attempts, phase=phase, message="Error (exit code 1)", now=now,
                        first_started=first_started, last_finished=last_finished, deadline_passed=deadline_passed,
                        in_backoff=in_backoff, scale=scale, exit_code=exit_code)


def test_success_or_no_strategy_finishes_as_the_attempt_ended() -> None:
    assert decide({"limit": 3}, phase="Succeeded") == RetryDecision(FINISH, "Succeeded", "Error (exit code 1)")
    assert decide(None) == RetryDecision(FINISH, "Failed", "Error (exit code 1)")


def test_limit_counts_retries_and_no_limit_retries_forever() -> None:
    assert decide({"limit": 2}, attempts=2).action == RETRY
    assert decide({"limit": "2"}, attempts=3) == RetryDecision(FINISH, "Failed", "No more retries left")
    assert decide({}, attempts=50).action == FINISH  # an empty strategy is no strategy
    assert decide({"retryPolicy": "Always"}, attempts=50).action == RETRY


@pytest.mark.parametrize("attempts, nominal", [(1, 10.0), (2, 20.0), (3, 40.0), (4, 60.0)])
def test_backoff_is_duration_times_factor_to_the_n_minus_1_capped(attempts: int, nominal: float) -> None:
    retry = {"limit": 9, "backoff": {"duration": "10s", "factor": 2, "cap": "1m"}}
    decision = decide(retry, attempts=attempts, last_finished=100.0, scale=0.5)
    assert decision == RetryDecision(BACKOFF, due=100.0 + nominal * 0.5, delay=nominal * 0.5, nominal_delay=nominal)


def test_after_the_backoff_the_policy_decides() -> None:
    retry = {"limit": 3, "backoff": {"duration": "10"}}
    assert decide(retry, now=120.0, in_backoff=True).action == RETRY
    assert decide({**retry, "retryPolicy": "OnError"}, now=120.0, in_backoff=True) == RetryDecision(
        FINISH, "Failed", "Error (exit code 1)"
    )
    assert decide({**retry, "retryPolicy": "OnError"}, phase="Error", now=120.0, in_backoff=True).action == RETRY
    assert decide({"limit": 3, "retryPolicy": "OnTransientError"}).action == FINISH
    assert decide({"limit": 3, "retryPolicy": "Sometimes"}) == RetryDecision(FINISH, "Error", "Sometimes is not a valid RetryPolicy")


def test_max_duration_ends_retrying() -> None:
    retry = {"limit": 9, "backoff": {"duration": "10s", "maxDuration": "15s"}}
    assert decide(retry, now=100.0, first_started=80.0) == RetryDecision(FINISH, "Failed", "Max duration limit exceeded")
    assert decide(retry, now=100.0, first_started=90.0) == RetryDecision(FINISH, "Failed", "Backoff would exceed max duration limit")
    assert decide(retry, now=100.0, first_started=99.0).action == BACKOFF


def test_no_retry_after_the_workflow_deadline_and_no_base_duration_is_an_error() -> None:
    assert decide({"limit": 3}, deadline_passed=True) == RetryDecision(FINISH, "Failed", "retry exceeded workflow deadline")
    assert decide({"limit": 3, "backoff": {"factor": 2}}) == RetryDecision(
        FINISH, "Error", "no base duration specified for retryStrategy"
    )



def test_the_expression_decides_after_the_limit_with_argos_string_variables() -> None:
    """processNodeRetries: the expression over lastRetry.* (strings; exit code "-1" when unknown)."""
    bridge = {"limit": 3, "retryPolicy": "Always", "expression": "lastRetry.exitCode != '4'"}
    assert decide(bridge, exit_code=1).action == RETRY
    assert decide(bridge, exit_code=None).action == RETRY  # a lost pod: "-1"
    assert decide(bridge, exit_code=4) == RetryDecision(FINISH, "Failed", "retryStrategy.expression evaluated to false")
    # The limit is checked first; a number never equals a string in expr.
    assert decide({**bridge, "limit": 0}, exit_code=1) == RetryDecision(FINISH, "Failed", "No more retries left")
    assert decide({"limit": 3, "expression": "lastRetry.exitCode != 4"}, exit_code=4).action == RETRY
    assert decide({"limit": 3, "expression": "asInt(lastRetry.exitCode) > 1 and lastRetry.status == 'Failed'"},
                  exit_code=2).action == RETRY
    assert decide({"limit": 3, "expression": "asInt(lastRetry.exitCode) not in [1, 2]"}, exit_code=2).action == FINISH
    assert decide({"limit": 3, "expression": "retries < '1'"}).action == RETRY  # retries is "0"
    bad = decide({"limit": 3, "expression": "lastRetry.exitCode < 4"}, exit_code=1)
    assert (bad.action, bad.phase) == (FINISH, "Error") and "invalid operation" in bad.message
    assert "not supported by bridge run" in decide({"limit": 3, "expression": "len(x) > 0"}).message
