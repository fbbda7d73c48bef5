"""One worker group: every background worker's start/stop path, in ``serve`` and standalone alike.

A :class:`Worker` is a ``step`` (apply what is due, return how much it did) run
at start and then again each time ``interval`` has passed *on the group's
clock*: a blocking step runs in the executor (the store's threads), an ``async
def`` step (the callback dispatcher) on the event loop. Between two steps a
worker sleeps on the clock (:meth:`Clock.sleep`), so with a ``ManualClock`` a
test runs an hour of worker activity by moving the clock, without real sleeps.
Steps coordinate through the store, so any number of replicas may run the same
worker. Every step that returns or raises counts in the group's metrics
(``rtcconsole_worker_runs_total`` and ``rtcconsole_worker_failures_total`` by worker).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

from rtcconsole_server.clock import Clock, SystemClock
from rtcconsole_server.observability import Metrics

__all__ = ["Worker", "WorkerGroup"]

log = logging.getLogger("rtcconsole_server.workers")


@dataclass
class Worker:
    """``step`` at start, then every ``interval`` on the group's clock; a failed step is logged
    and retried after ``interval``."""

    name: str
    step: Callable[[], int] | Callable[[], Awaitable[int]]
    interval: timedelta
    on_stop: Callable[[], None] | None = None
    """Called first when the group stops, before it waits for the step in flight (stop claiming)."""
    report: str = "applied {n} item(s)"
    """How a step that did something is logged, after ``worker <name>``; ``{n}`` is its count."""


@dataclass(eq=False)
class _Run:
    worker: Worker
    task: asyncio.Task[None] | None = None
    busy: bool = False
    """True while the step runs (stop gives it the grace), False while the loop sleeps."""


@dataclass
class WorkerGroup:
    """Workers sharing one executor and one clock; started and stopped together."""

    executor: Executor
    workers: list[Worker] = field(default_factory=list)
    clock: Clock = field(default_factory=SystemClock)
    """What the loops sleep on between steps (a ``ManualClock`` in tests)."""
    metrics: Metrics = field(default_factory=Metrics)
    """Where steps are counted (the server's; by default a registry of its own)."""
    _runs: list[_Run] = field(default_factory=list, init=False, repr=False)
    _stopping: bool = field(default=False, init=False, repr=False)

    @property
    def running(self) -> bool:
        """Whether :meth:`start` was called and :meth:`stop` has not finished."""
        return bool(self._runs)

    async def run_once(self) -> dict[str, int]:
        """Run every step once now, in order; returns what each did (tests and ``--once``)."""
        return {w.name: await self._step(w) for w in self.workers}

    async def start(self) -> None:
        """Start one loop per worker on the running event loop; each runs its first step at once."""
        if self._runs:
            raise RuntimeError("the worker group is already running")
        self._stopping = False
        for worker in self.workers:
            run = _Run(worker)
            run.task = asyncio.create_task(self._loop(run), name=f"worker:{worker.name}")
            self._runs.append(run)

    async def stop(self, grace: float | timedelta = 0.0) -> None:
        """Stop every loop the same way, everywhere.

        1. No new step starts, and every ``on_stop`` runs (the dispatcher and the
           aggregator stop claiming work);
        2. loops asleep between steps end at once;
        3. a step in flight gets ``grace`` (seconds, or a ``timedelta``) to finish;
        4. what is left is cancelled (a blocking step's thread still runs to its end:
           the executor's owner waits for it when it shuts the executor down).
        """
        grace_s = grace.total_seconds() if isinstance(grace, timedelta) else grace
        self._stopping = True
        for worker in self.workers:
            if worker.on_stop is not None:
                try:
                    worker.on_stop()
                except Exception:
                    log.exception("worker %s: on_stop failed", worker.name)
        tasks = [run.task for run in self._runs if run.task is not None]
        for run in self._runs:
            if run.task is not None and not run.busy:
                run.task.cancel()
        in_flight = [task for task in tasks if not task.done() and not task.cancelling()]
        if in_flight and grace_s > 0:
            await asyncio.wait(in_flight, timeout=grace_s)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._runs.clear()

    async def _step(self, worker: Worker) -> int:
        """Run one step of ``worker`` and count it (a cancelled one is not counted)."""
        try:
            if inspect.iscoroutinefunction(worker.step):
                done = await cast(Callable[[], Awaitable[int]], worker.step)()
            else:
                loop = asyncio.get_running_loop()
                done = await loop.run_in_executor(self.executor, cast(Callable[[], int], worker.step))
        except Exception:
            self.metrics.worker_ran(worker.name, failed=True)
            raise
        self.metrics.worker_ran(worker.name, failed=False)
        return done

    async def _loop(self, run: _Run) -> None:
        worker = run.worker
        while not self._stopping:
            run.busy = True
            try:
                done = await self._step(worker)
                if done:
                    log.info("worker %s %s", worker.name, worker.report.format(n=done))
            except Exception:
                log.exception("worker %s step failed; retrying in %s", worker.name, worker.interval)
            finally:
                run.busy = False
            if self._stopping:
                return
            await self.clock.sleep(worker.interval)
