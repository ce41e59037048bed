"""Every error bridge reports to a user, in one place."""

from __future__ import annotations


class BridgeError(Exception):
    """A user-facing error: one line, located, saying what to do. Exit code 1."""

    def __init__(self, message: str, *, location: str | None = None) -> None:
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class DagLoadError(BridgeError):
    """The DAG file cannot be read, parsed or imported, or holds no usable DAG."""


class UnsupportedError(BridgeError):
    """The DAG uses a feature bridge cannot (yet) run on Argo."""


class OutputError(BridgeError):
    """The output folder cannot be written safely."""


class ScheduleError(BridgeError):
    """A run cannot be dated or submitted (bridge submit, bridge backfill, schedules)."""
