"""The retry decision after a node's attempt: Argo v4.1.2 operator.go processNodeRetries. Pure, no threads.

Times are seconds on one monotonic clock; `scale` is `bridge run --retry-delay-scale`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.argo.expr import ExpressionError, evaluate_retry_expression
from bridge.local.spec import int_or_string, parse_duration

FINISH = "finish"  # the node ends in `phase` with `message`
BACKOFF = "backoff"  # wait until `due`, then decide again
RETRY = "retry"  # start the next attempt now


@dataclass(frozen=True)
class RetryDecision:
    """What to do with a node after an attempt."""

    action: str  # FINISH, BACKOFF or RETRY
    phase: str = ""  # FINISH: the node's phase
    message: str = ""  # FINISH: the node's message
    due: float = 0.0  # BACKOFF: when the wait ends (monotonic)
    delay: float = 0.0  # BACKOFF: the real wait (scaled)
    nominal_delay: float = 0.0  # BACKOFF: what Argo would wait


def decide_retry(
    retry: Mapping[str, Any] | None,
    *,
    attempts: int,
    phase: str,
    message: str,
    now: float,
    first_started: float,
    last_finished: float,
    deadline_passed: bool,
    in_backoff: bool,
    scale: float = 1.0,
    exit_code: int | None = None,
    duration: float = 0.0,
) -> RetryDecision:
    """processNodeRetries for the last of `attempts` attempts, which ended in `phase` with `message`.

    `retry` is the template's retryStrategy; `first_started` is when the first attempt started
    (backoff.maxDuration counts from it), `last_finished` when the last one ended (the backoff
    counts from it); `in_backoff` is True when this is the decision again after a backoff wait.
    `exit_code` and `duration` (seconds) are the last attempt's, for `retryStrategy.expression`.
    """
    if phase == "Succeeded" or not retry:
        return RetryDecision(FINISH, phase, message)
    if deadline_passed:
        return RetryDecision(FINISH, phase, "retry exceeded workflow deadline")
    limit = int_or_string(retry.get("limit"), "retryStrategy.limit")
    backoff = retry.get("backoff")
    if backoff:
        max_deadline: float | None = None
        if backoff.get("maxDuration"):
            max_deadline = first_started + parse_duration(backoff["maxDuration"])
            if now > max_deadline:
                return RetryDecision(FINISH, phase, "Max duration limit exceeded")
        if not backoff.get("duration"):
            return RetryDecision(FINISH, "Error", "no base duration specified for retryStrategy")
        wait = parse_duration(backoff["duration"])
        factor = int_or_string(backoff.get("factor"), "retryStrategy.backoff.factor")
        if factor is not None and factor > 0:
            wait = wait * factor ** (attempts - 1)
        if backoff.get("cap"):
            wait = min(wait, parse_duration(backoff["cap"]))
        real_wait = wait * scale
        waiting_deadline = last_finished + real_wait
        if max_deadline is not None and waiting_deadline > max_deadline:
            return RetryDecision(FINISH, phase, "Backoff would exceed max duration limit")
        if not in_backoff and now < waiting_deadline and limit is not None and attempts <= limit:
            # Argo waits out the backoff before it even looks at the retry policy.
            return RetryDecision(BACKOFF, due=waiting_deadline, delay=real_wait, nominal_delay=wait)
    policy = retry.get("retryPolicy") or ("OnFailure" if not retry.get("expression") else "Always")
    if policy not in ("Always", "OnFailure", "OnError", "OnTransientError"):
        return RetryDecision(FINISH, "Error", f"{policy} is not a valid RetryPolicy")
    on_failed = policy in ("Always", "OnFailure")
    on_error = policy in ("Always", "OnError")
    if (phase == "Failed" and not on_failed) or (phase == "Error" and not on_error):
        return RetryDecision(FINISH, phase, message)
    if limit is not None and attempts > limit:
        return RetryDecision(FINISH, phase, "No more retries left")
    expression = retry.get("expression")
    if expression:
        # buildRetryStrategyLocalScope: every value a string; a missing exit code is "-1".
        scope = {
            "retries": str(attempts - 1),
            "lastRetry.exitCode": "-1" if exit_code is None else str(exit_code),
            "lastRetry.status": phase,
            "lastRetry.duration": _go_seconds(duration),
            "lastRetry.message": message,
        }
        try:
            again = evaluate_retry_expression(str(expression), scope)
        except ExpressionError as error:
            return RetryDecision(FINISH, "Error", str(error))
        if not again:
            return RetryDecision(FINISH, phase, "retryStrategy.expression evaluated to false")
    return RetryDecision(RETRY)


def _go_seconds(seconds: float) -> str:
    """fmt.Sprint of a float64 of seconds (Go's shortest form: 12, 1.5)."""
    text = repr(float(seconds))
    return text[:-2] if text.endswith(".0") else text
