"""The callback dispatcher: an async worker that POSTs due deliveries (R15).

:meth:`Dispatcher.run_once` claims room heads (``Outbox.claim``), POSTs each
(at most ``concurrency`` at once, each to a different room, at most
``app_concurrency`` of one app), records each outcome as soon as it is known,
and claims again, until nothing is due and nothing is in flight. Each POST has
one deadline over the whole exchange and goes only to addresses the destination
policy allows, checked when connecting (``_http.py``). Whatever an attempt
raises is recorded as a failed attempt ("internal error"), with backoff and
expiry like any failure. Store calls run in the executor; the event loop
only waits on sockets. Since a room's next event becomes due the moment its
head is recorded, a healthy room drains in one ``run_once``; a failing one waits
for its backoff, which is read from the injected clock (tests move it).

``rtc-console serve`` runs it as a worker; ``rtc-console dispatcher`` runs it
alone. :meth:`stop_claiming` lets a stopping process finish what it holds.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.callbacks._body import callback_body, callback_headers
from rtcconsole_server.domain.callbacks._http import (
    FAILURE_TEXTS,
    CallbackClient,
    PostResult,
    Resolver,
    SystemResolver,
)
from rtcconsole_server.domain.callbacks._outbox import Claim, Outbox, Outcome
from rtcconsole_server.domain.common import DestinationPolicy
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
        app_concurrency: int | None = None,
        destinations: DestinationPolicy | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        """``app_concurrency`` None: no cap per app; ``destinations`` None: the default policy
        (public addresses only); ``resolver`` None: the system's, in threads of its own."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if app_concurrency is not None and app_concurrency < 1:
            raise ValueError("app_concurrency must be at least 1")
        self._outbox = outbox
        self._clock = clock
        self._executor = executor
        self._timeout_s = timeout.total_seconds()
        self._concurrency = concurrency
        self._app_concurrency = None if app_concurrency is None else min(app_concurrency, concurrency)
        self._claiming = True
        self._dns: ThreadPoolExecutor | None = None
        if resolver is None:
            # lookups of their own, two threads per slot: a lookup cut by the deadline keeps its thread
            # until the resolver gives up, and one app's slow DNS server (at most app_concurrency
            # lookups at once) must not use up the threads the other apps' POSTs need
            self._dns = ThreadPoolExecutor(max_workers=concurrency * 2, thread_name_prefix="rtc-callback-dns")
            resolver = SystemResolver(self._dns)
        self._client = CallbackClient(
            destinations or DestinationPolicy(),
            resolver=resolver,
            max_connections=concurrency * 2,
            keepalive=concurrency,
        )

    @classmethod
    def build(
        cls,
        store: Store,
        clock: Clock,
        settings: Settings,
        executor: Executor,
        *,
        resolver: Resolver | None = None,
    ) -> Dispatcher:
        """A dispatcher with the callback settings of ``settings`` (timeout, lease, backoff, the
        destination policy...); ``resolver`` None: the system's."""
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
            app_concurrency=settings.callback_app_concurrency,
            destinations=DestinationPolicy.of(
                settings.callback_allow_networks, allow_loopback=settings.callback_allow_loopback
            ),
            resolver=resolver,
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
        if self._dns is not None:  # a lookup still running is not waited for
            self._dns.shutdown(wait=False, cancel_futures=True)

    async def run_once(self) -> int:
        """Deliver everything due now, room by room in order; returns the attempts made."""
        loop = asyncio.get_running_loop()
        in_flight: dict[asyncio.Task[None], int] = {}  # → its app
        per_app: Counter[int] = Counter()
        attempts = 0
        try:
            while True:
                free = self._concurrency - len(in_flight)
                if free > 0 and self._claiming:
                    claim_some = functools.partial(
                        self._outbox.claim, free, in_flight=dict(per_app), app_limit=self._app_concurrency
                    )
                    claims = await loop.run_in_executor(self._executor, claim_some)
                    for claim in claims:
                        in_flight[asyncio.create_task(self._attempt(claim))] = claim.sdk_app_id
                        per_app[claim.sdk_app_id] += 1
                    attempts += len(claims)
                if not in_flight:
                    return attempts
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    per_app[in_flight.pop(task)] -= 1
                    if task.exception() is not None:  # the outcome could not be stored: the lease expires
                        log.error("callback attempt failed to run", exc_info=task.exception())
                per_app += Counter()  # drop apps with nothing in flight
        finally:  # cancelled (a stopping process): abandon the POSTs; their leases will expire
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _attempt(self, claim: Claim) -> None:
        sent_at = self._clock.now()
        started = time.perf_counter()
        try:
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
            result = await self._client.post(claim.url, body, headers, timeout_s=self._timeout_s)
        except Exception:  # a bug or a bad row: a failed attempt like any other, retried and expired
            log.exception(
                "callback %s (app %d, attempt %d): unexpected error",
                claim.event_id,
                claim.sdk_app_id,
                claim.attempt,
            )
            elapsed_ms = int((time.perf_counter() - started) * 1000)
            result = PostResult(0, elapsed_ms, FAILURE_TEXTS["internal"], failure="internal")
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
