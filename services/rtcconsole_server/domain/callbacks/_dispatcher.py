"""The callback dispatcher: an async worker that POSTs due deliveries (R15).

:meth:`Dispatcher.run_once` claims room heads (``Outbox.claim``), POSTs each
with ``httpx`` (at most ``concurrency`` at once, each to a different room),
records each outcome as soon as it is known, and claims again, until nothing
is due and nothing is in flight. Store calls run in the executor; the event loop
only waits on sockets. Since a room's next event becomes due the moment its
head is recorded, a healthy room drains in one ``run_once``; a failing one waits
for its backoff, which is read from the injected clock (tests move it).

``rtc-console serve`` runs it as a worker; ``rtc-console dispatcher`` runs it
alone. :meth:`stop_claiming` lets a stopping process finish what it holds.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from datetime import timedelta

import httpx

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.callbacks._body import callback_body, callback_headers
from rtcconsole_server.domain.callbacks._http import post
from rtcconsole_server.domain.callbacks._outbox import Claim, Outbox, Outcome
from rtcconsole_server.settings import Settings
from rtcconsole_server.store import Store

__all__ = ["Dispatcher"]

log = logging.getLogger("rtcconsole_server.dispatcher")


class Dispatcher:
    """Delivers the outbox; any number of dispatchers may share one store."""

    def __init__(
        self,
        outbox: Outbox,
        clock: Clock,
        executor: Executor,
        *,
        timeout: timedelta = timedelta(seconds=5),
        concurrency: int = 32,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._outbox = outbox
        self._clock = clock
        self._executor = executor
        self._timeout_s = timeout.total_seconds()
        self._concurrency = concurrency
        self._claiming = True
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(self._timeout_s),
            limits=httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency),
        )

    @classmethod
    def build(cls, store: Store, clock: Clock, settings: Settings, executor: Executor) -> Dispatcher:
        """A dispatcher with the callback settings of ``settings`` (timeout, lease, backoff...)."""
        if settings.callback_lease <= settings.callback_timeout:
            raise ValueError("callback_lease must be longer than callback_timeout")
        outbox = Outbox(
            store,
            clock,
            lease=settings.callback_lease,
            retry_window=settings.callback_retry_window,
            backoff_cap=settings.callback_backoff_cap,
        )
        return cls(
            outbox,
            clock,
            executor,
            timeout=settings.callback_timeout,
            concurrency=settings.callback_concurrency,
        )

    @property
    def outbox(self) -> Outbox:
        """The claims and outcomes this dispatcher works with."""
        return self._outbox

    def stop_claiming(self) -> None:
        """Claim nothing more; deliveries in flight finish and are recorded."""
        self._claiming = False

    async def aclose(self) -> None:
        await self._client.aclose()

    async def run_once(self) -> int:
        """Deliver everything due now, room by room in order; returns the attempts made."""
        loop = asyncio.get_running_loop()
        in_flight: set[asyncio.Task[None]] = set()
        attempts = 0
        try:
            while True:
                free = self._concurrency - len(in_flight)
                if free > 0 and self._claiming:
                    claims = await loop.run_in_executor(self._executor, self._outbox.claim, free)
                    for claim in claims:
                        in_flight.add(asyncio.create_task(self._attempt(claim)))
                    attempts += len(claims)
                if not in_flight:
                    return attempts
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task.exception() is not None:  # a store failure: the lease will expire
                        log.error("callback attempt failed to run", exc_info=task.exception())
        finally:  # cancelled (a stopping process): abandon the POSTs; their leases will expire
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _attempt(self, claim: Claim) -> None:
        sent_at = self._clock.now()
        body = callback_body(
            event_group=claim.event_group,
            event_type=claim.event_type,
            event_id=claim.event_id,
            room_seq=claim.room_sequence,
            event_time=claim.event_time,
            send_time=sent_at,
            info=claim.info,
        )
        headers = callback_headers(claim.sdk_app_id, claim.key, body)
        result = await post(self._client, claim.url, body, headers, timeout_s=self._timeout_s)
        outcome = Outcome(sent_at, result.duration_ms, result.status_code, result.error)
        state = await asyncio.get_running_loop().run_in_executor(
            self._executor, self._outbox.record, claim, outcome
        )
        if not outcome.ok:
            log.info(
                "callback %s (app %d, attempt %d) failed: %s -> %s",
                claim.event_id,
                claim.sdk_app_id,
                claim.attempt,
                outcome.error,
                state,
            )
