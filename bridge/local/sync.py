"""Argo's `synchronization` (semaphores and mutexes) for the Workflow `bridge run` executes. Pure.

Mirrors workflow/sync in Argo v4.1.2 for one Workflow: a lock is named like Argo's
(`<namespace>/ConfigMap/<name>/<key>` for a semaphore, `<namespace>/Mutex/<name>` for a mutex);
a semaphore's limit is `strconv.Atoi` of its ConfigMap key, read when the lock is first used
(no ConfigMap, no key, or not a positive integer: the lock cannot be initialised, which fails
the Workflow, or errors the node, as in Argo); a holder is the Workflow (`<ns>/<workflow>`) or
one of its nodes (`<ns>/<workflow>/<node>`); a holder acquires every lock of its block or none
(sync_manager.go `tryAcquireImpl`), and keeps them until it is released. Nodes of one Workflow
do not queue behind each other (semaphore.go `isSameWorkflowNodeKeys`): the engine asks in DAG
order, as Argo's DAG walk does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class LockError(Exception):
    """The synchronization block cannot be honoured (Argo: the Workflow fails, or the node errors)."""


@dataclass
class _Lock:
    name: str
    limit: int
    holders: set[str] = field(default_factory=set)


class Locks:
    """The locks one run uses, their limits and holders."""

    def __init__(self, config_maps: Mapping[str, Mapping[str, Any]], namespace: str, source: str = "") -> None:
        self.config_maps = config_maps
        self.namespace = namespace
        self.source = source  # where the ConfigMaps came from, for messages
        self.locks: dict[str, _Lock] = {}

    def _lock(self, item: Mapping[str, Any], kind: str) -> _Lock:
        namespace = str(item.get("namespace") or self.namespace)
        if kind == "mutex":
            if item.get("database"):
                raise LockError(f"database mutex {item.get('name')!r} is not supported by bridge run")
            if not item.get("name"):
                raise LockError("a mutex without a name")
            name = f"{namespace}/Mutex/{item['name']}"
            return self.locks.setdefault(name, _Lock(name, 1))
        ref = item.get("configMapKeyRef")
        if ref is not None and item.get("database") is not None:
            raise LockError("invalid semaphore with both ConfigMapKeyRef and Database")
        if ref is None:
            raise LockError("bridge run supports semaphores with a configMapKeyRef only (not database semaphores)")
        name = f"{namespace}/ConfigMap/{ref.get('name')}/{ref.get('key')}"
        if name not in self.locks:
            self.locks[name] = _Lock(name, self._limit(name, str(ref.get("name") or ""), str(ref.get("key") or "")))
        return self.locks[name]

    def _limit(self, lock: str, config_map: str, key: str) -> int:
        """controller.go getSyncLimit: Atoi of the key; 0 or an error means the lock cannot start."""
        where = f" ({self.source})" if self.source else ""
        data = self.config_maps.get(config_map)
        if data is None:
            problem = f"ConfigMap {config_map!r} does not exist{where}"
        elif key not in data:
            problem = f"Sync configuration key {key!r} not found in ConfigMap {config_map!r}"
        else:
            try:
                limit = int(str(data[key]).strip())
            except ValueError:
                limit = 0
            if limit > 0:
                return limit
            problem = f"ConfigMap {config_map!r} key {key!r} is {data[key]!r}, not a positive integer"
        raise LockError(f"failed to initialize semaphore {lock} with limit: {problem}")

    def _items(self, sync: Mapping[str, Any]) -> list[_Lock]:
        items = [("semaphore", s) for s in sync.get("semaphores") or []]
        items += [("mutex", m) for m in sync.get("mutexes") or []]
        for index, item in enumerate(items):
            if item in items[index + 1:]:
                raise LockError("requested configuration is invalid: duplicate synchronization item found")
        return [self._lock(item, kind) for kind, item in items]

    def try_acquire(self, holder: str, sync: Mapping[str, Any]) -> str | None:
        """Take every lock of `sync` for `holder`, or none; None when held, else Argo's waiting message."""
        locks = self._items(sync)
        for lock in locks:
            if holder not in lock.holders and len(lock.holders) >= lock.limit:
                free = lock.limit - len(lock.holders)
                return f"Waiting for {lock.name} lock. Lock status: {free}/{lock.limit}"
        for lock in locks:
            lock.holders.add(holder)
        return None

    def release(self, holder: str) -> None:
        """Release every lock `holder` holds."""
        for lock in self.locks.values():
            lock.holders.discard(holder)
