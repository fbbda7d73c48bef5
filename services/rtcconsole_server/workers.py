"""Background workers that run inside ``rtc-console serve`` (embedded mode) or alone.

A worker is a blocking ``step`` (apply what is due, return how much it did)
called every ``interval`` in the store's thread pool. Steps coordinate through
the store, so any number of replicas may run the same worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import timedelta

__all__ = ["Worker", "WorkerGroup"]

log = logging.getLogger("rtcconsole_server.workers")


@dataclass
class Worker:
    """``step`` every ``interval``; errors are logged and the loop goes on."""

    name: str
    step: Callable[[], int]
    interval: timedelta


@dataclass
class WorkerGroup:
    """Workers sharing one executor; started and stopped together."""

    executor: Executor
    workers: list[Worker] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def run_once(self) -> dict[str, int]:
        """Run every step once now, in order; returns what each did (tests and ``--once``)."""
        loop = asyncio.get_running_loop()
        return {w.name: await loop.run_in_executor(self.executor, w.step) for w in self.workers}

    def start(self) -> None:
        for worker in self.workers:
            self._tasks.append(asyncio.create_task(self._loop(worker), name=f"worker:{worker.name}"))

    async def stop(self) -> None:
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _loop(self, worker: Worker) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            try:
                done = await loop.run_in_executor(self.executor, worker.step)
                if done:
                    log.info("worker %s applied %d item(s)", worker.name, done)
            except Exception:
                log.exception("worker %s step failed; retrying in %s", worker.name, worker.interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), worker.interval.total_seconds())
