"""Stopping a run from outside: SIGTERM and SIGHUP become what Ctrl-C is, so the engine stops its pods.

Pods run in sessions of their own (as containers do), so a signal that ends `bridge run` would
leave them running; the engine catches `Stopped` (and KeyboardInterrupt) and stops every pod
as `argo stop` does.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

# Signals that stop a run as Ctrl-C does (`timeout`, a closed terminal, a service manager).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Stopped(BaseException):
    """A stop signal arrived (raised in the scheduler thread, like KeyboardInterrupt for SIGINT)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.name = signal.Signals(signum).name


@contextlib.contextmanager
def stop_on_signals(stopping: threading.Event) -> Iterator[None]:
    """Turn STOP_SIGNALS into `Stopped` while the run lasts; once stopping, further ones are ignored.

    Pods run in sessions of their own, so a signal that ends this process would leave them
    running: the run must stop them first. Only the main thread can install handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            raise Stopped(signum)

    # A signal this process ignores (`nohup bridge run …` ignores SIGHUP) stays ignored.
    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS if signal.getsignal(signum) != signal.SIG_IGN}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
