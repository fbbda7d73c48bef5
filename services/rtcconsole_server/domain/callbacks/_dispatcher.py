"""The callback dispatcher: an async worker that POSTs due deliveries (R15).

:meth:`Dispatcher.run_once` works in rounds. A round is one store transaction
(``Outbox.exchange``): it records the outcomes of the POSTs that ended since the
previous round, then claims room heads for the free slots. Its POSTs (at most
``concurrency`` at once, each to a different room, at most ``app_concurrency`` of
one app) run while the next round is written, and the rounds go on until nothing
is due and nothing is in flight. Each POST has one deadline over the whole
exchange and goes only to addresses the destination policy allows, checked when
connecting (``_connect.py``). Whatever an attempt raises is recorded as a failed
attempt ("internal error"), with backoff and expiry like any failure. Store calls
run in the executor; the event loop only waits on sockets. Since a room's next
event is claimable in the very transaction that records its head, a healthy room
drains in one ``run_once``; a failing one waits for its backoff, which is read
from the injected clock (tests move it).

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
        """Deliver everything due now, room by room in order; returns the attempts made.

        Each round is one store transaction in the executor (``Outbox.exchange``): the
        outcomes of the POSTs that ended since the last round, then claims for the free
        slots. POSTs keep running while a round is written, and the outcomes that end
        meanwhile go into the next round, so the busier the dispatcher, the bigger its rounds.
        """
        loop = asyncio.get_running_loop()
        in_flight: dict[asyncio.Task[Outcome], Claim] = {}
        per_app: Counter[int] = Counter()
        ended: list[tuple[Claim, Outcome]] = []
        attempts = 0
        try:
            while True:
                free = self._concurrency - len(in_flight) if self._claiming else 0
                if ended or free > 0:
                    batch, ended = ended, []
                    claims = await self._round(loop, batch, free, per_app)
                    for claim in claims:
                        in_flight[asyncio.create_task(self._attempt(claim))] = claim
                        per_app[claim.sdk_app_id] += 1
                    attempts += len(claims)
                if not in_flight:
                    return attempts
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    claim = in_flight.pop(task)
                    per_app[claim.sdk_app_id] -= 1
                    if task.exception() is not None:  # not recordable: the lease expires
                        log.error("callback attempt failed to run", exc_info=task.exception())
                    else:
                        ended.append((claim, task.result()))
                per_app += Counter()  # drop apps with nothing in flight
        finally:  # cancelled (a stopping process): abandon the POSTs; their leases will expire
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            ended += [(c, t.result()) for t, c in in_flight.items() if not (t.cancelled() or t.exception())]
            if ended:  # known outcomes are still recorded, without waiting for them
                self._record_later(ended)

    async def _round(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[tuple[Claim, Outcome]],
        free: int,
        per_app: Counter[int],
    ) -> list[Claim]:
        """Record ``batch`` and claim up to ``free`` in one transaction; the new claims.

        If that transaction fails with outcomes in it, each outcome is recorded on its own
        (one bad outcome costs only its delivery, whose lease then expires) and nothing is
        claimed this round; a claim that fails alone raises."""
        exchange = functools.partial(
            self._outbox.exchange, batch, free, in_flight=dict(per_app), app_limit=self._app_concurrency
        )
        try:
            states, claims = await loop.run_in_executor(self._executor, exchange)
        except Exception:
            if not batch:
                raise
            log.exception("recording %d callback outcomes failed: recording them one by one", len(batch))
            states = [await loop.run_in_executor(self._executor, self._record_one, *pair) for pair in batch]
            claims = []
        for (claim, outcome), state in zip(batch, states, strict=True):
            if not outcome.ok:
                log.info(
                    "callback %s (app %d, attempt %d) failed: %s -> %s",
                    claim.event_id,
                    claim.sdk_app_id,
                    claim.attempt,
                    outcome.error,
                    state,
                )
        return claims

    def _record_one(self, claim: Claim, outcome: Outcome) -> str:
        """``Outbox.record`` (blocking); a failure is logged, and the lease expires."""
        try:
            return self._outbox.record(claim, outcome)
        except Exception:
            log.exception("callback %s (app %d): outcome not recorded", claim.event_id, claim.sdk_app_id)
            return "not recorded"

    def _record_later(self, ended: list[tuple[Claim, Outcome]]) -> None:
        """Record ``ended`` in the executor without waiting (a run cancelled mid-round)."""
        try:
            for claim, outcome in ended:
                self._executor.submit(self._record_one, claim, outcome)
        except RuntimeError:  # the executor is shut down already: those leases expire
            log.warning("%d callback outcomes not recorded: the store's threads are gone", len(ended))

    async def _attempt(self, claim: Claim) -> Outcome:
        """POST ``claim``; what it gave (anything it raises is a failed attempt, "internal error")."""
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
        return Outcome(sent_at, result.duration_ms, result.status_code, result.error)
