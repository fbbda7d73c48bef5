"""Background workers that run inside ``rtc-console serve`` (embedded mode) or alone.

A worker is a ``step`` (apply what is due, return how much it did) called every
``interval``: a blocking step runs in the store's thread pool, an ``async def``
step (the callback dispatcher) on the event loop. Steps coordinate through the
store, so any number of replicas may run the same worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

__all__ = ["Worker", "WorkerGroup"]

log = logging.getLogger("rtcconsole_server.workers")


@dataclass
class Worker:
    """``step`` every ``interval``; errors are logged and the loop goes on."""

    name: str
    step: Callable[[], int] | Callable[[], Awaitable[int]]
    interval: timedelta
    on_stop: Callable[[], None] | None = None
    """Called when the group stops, before it waits for the step (e.g. stop claiming work)."""


@dataclass
class WorkerGroup:
    """Workers sharing one executor; started and stopped together."""

    executor: Executor
    workers: list[Worker] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def run_once(self) -> dict[str, int]:
        """Run every step once now, in order; returns what each did (tests and ``--once``)."""
        return {w.name: await self._step(w) for w in self.workers}

    def start(self) -> None:
        for worker in self.workers:
            self._tasks.append(asyncio.create_task(self._loop(worker), name=f"worker:{worker.name}"))

    async def stop(self, grace: float = 0.0) -> None:
        """Stop every loop: a step under way gets ``grace`` seconds to finish, then is cancelled."""
        self._stopping.set()
        for worker in self.workers:
            if worker.on_stop is not None:
                worker.on_stop()
        if self._tasks and grace > 0:
            await asyncio.wait(self._tasks, timeout=grace)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _step(self, worker: Worker) -> int:
        if inspect.iscoroutinefunction(worker.step):
            return await cast(Callable[[], Awaitable[int]], worker.step)()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, cast(Callable[[], int], worker.step))

    async def _loop(self, worker: Worker) -> None:
        while not self._stopping.is_set():
            try:
                done = await self._step(worker)
                if done:
                    log.info("worker %s applied %d item(s)", worker.name, done)
            except Exception:
                log.exception("worker %s step failed; retrying in %s", worker.name, worker.interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), worker.interval.total_seconds())
