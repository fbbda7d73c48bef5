"""Running a service until SIGTERM or SIGINT: the one shutdown path of every ``rtc-console`` command.

``serve`` (the gRPC server with its worker group), ``dispatcher`` and
``aggregator`` (a worker group alone) all run through :func:`run_until_signalled`:
start, wait for SIGTERM/SIGINT (or a test's ``stop`` event), then ``stop(grace)``
once. Signals that arrive while it stops are absorbed, so a second Ctrl-C does not
cut the drain short. A SIGKILL loses nothing either: every step is one transaction
and claims have leases. A worker command run alone may also be given a metrics
address (``--metrics-listen``): its :class:`~rtcconsole_server.observability.MetricsListener`
serves the group's registry from before the group starts until after it stopped.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from datetime import timedelta
from typing import Protocol

from rtcconsole_server.observability import Metrics, MetricsListener
from rtcconsole_server.settings import split_listen

__all__ = ["SIGNALS", "Service", "run_until_signalled"]

log = logging.getLogger("rtcconsole_server.workers")

SIGNALS = (signal.SIGTERM, signal.SIGINT)
"""What stops a running command."""


class Service(Protocol):
    """Something started once and stopped once: a :class:`WorkerGroup`, a ``Server``."""

    async def start(self) -> None: ...

    async def stop(self, grace: float) -> None:
        """Stop admitting work; what is in flight gets ``grace`` seconds, then is cancelled."""
        ...


def _listener(service: Service, address: str | None) -> MetricsListener | None:
    """The metrics listener of ``service``'s registry (its ``metrics``, a :class:`WorkerGroup`'s)
    at ``address``, bound now; None without an address."""
    if address is None:
        return None
    metrics = getattr(service, "metrics", None)
    if not isinstance(metrics, Metrics):
        raise TypeError(f"{type(service).__name__} has no metrics to serve at {address}")
    host, port = split_listen(address)
    return MetricsListener(metrics, host, port)


async def run_until_signalled(
    service: Service,
    *,
    grace: timedelta,
    name: str,
    stop: asyncio.Event | None = None,
    metrics_listen: str | None = None,
) -> None:
    """Start ``service``, wait for SIGTERM or SIGINT (or for ``stop`` to be set), stop it.

    ``grace`` (``Settings.grace``, default 10 s) is what the step or call in flight
    gets before it is cancelled. ``name`` prefixes the log lines. Signal handlers exist
    only in the main thread: elsewhere ``stop`` is the only way out, and is required.
    ``metrics_listen`` (``Settings.metrics_listen``, default None: none) is where
    ``GET /metrics`` and ``/healthz`` of ``service.metrics`` are served: bound before
    ``service`` starts (a busy port raises ``OSError`` and nothing starts), stopped after
    it stopped, so a scrape during the drain still answers.
    """
    loop = asyncio.get_running_loop()
    handled = SIGNALS if threading.current_thread() is threading.main_thread() else ()
    if not handled and stop is None:
        raise RuntimeError("outside the main thread, run_until_signalled needs a stop event")
    stopping = stop or asyncio.Event()
    received: list[signal.Signals] = []

    def _on_signal(sig: signal.Signals) -> None:
        received.append(sig)
        stopping.set()

    listener = _listener(service, metrics_listen)
    for sig in handled:
        loop.add_signal_handler(sig, _on_signal, sig)
    try:
        if listener is not None:
            await listener.start(name)
        await service.start()
        try:
            await stopping.wait()
            why = received[0].name if received else "stop requested"
            log.info("%s: %s; stopping (in-flight work gets up to %s)", name, why, grace)
        finally:
            await service.stop(grace.total_seconds())
        log.info("%s: stopped", name)
    finally:
        try:
            if listener is not None:
                await listener.stop()
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
