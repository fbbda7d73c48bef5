"""Sending the simulated records through the real IngestService, and what the server said.

The driver takes the time-ordered :class:`~rtcconsole_server.simulate.model.Item` stream of the
model and sends it in **rounds**: every record due by then, grouped by kind, each kind on one
client stream (``StreamEvents``, ``StreamQuality``, ``StreamClientEvents``, ``StreamUsage``)
in batches of at most ``batch`` records, so that a rejected record is reported and the rest
still stored. A backfill is rounds back to back up to its end (the next round is built while
the previous one is on the wire); live, one round per second of real time, each holding what
fell due since the last, until :meth:`Driver.stop` (SIGINT in ``rtc-console simulate``).

With a :class:`~rtcconsole_server.simulate._host.RoomHost`, the driver is also the media server
of its rooms: :meth:`Driver.watch_commands` holds ``WatchRoomCommands`` open and reports the
events that carry each command out, and the records of dismissed calls and removed users are
no longer sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rtcconsole.client import IngestClient
from rtcconsole.errors import RtcConsoleError
from rtcconsole_server.simulate._host import RoomHost
from rtcconsole_server.simulate.model import CLIENT_EVENT, EVENT, KINDS, SAMPLE, USAGE, Item, micros

__all__ = ["Driver", "KindTally", "Source", "Tally"]

_ROUND_BATCHES = 10
"""Batches of samples per backfill round (the other kinds ride along)."""
_KEPT_REJECTIONS = 10


@dataclass
class KindTally:
    """What happened to the records of one kind."""

    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0


@dataclass
class Tally:
    """The whole run so far: per kind, and the first rejections as the server worded them."""

    kinds: dict[str, KindTally] = field(default_factory=lambda: {kind: KindTally() for kind in KINDS})
    rejections: list[str] = field(default_factory=list)
    """``kind id: CODE: reason`` of the first 10 rejected records."""
    calls: int = 0
    """Calls begun (ROOM_CREATED events sent)."""
    up_to: datetime | None = None
    """The due instant of the last record sent."""
    commands: int = 0
    """Room commands carried out (``--live``: DismissRoom, RemoveUsers of the simulated rooms)."""

    def total(self, name: str) -> int:
        """``sent``, ``accepted``, ``duplicates`` or ``rejected`` over every kind."""
        return sum(int(getattr(kind, name)) for kind in self.kinds.values())

    def as_dict(self) -> dict[str, Any]:
        """The tally as JSON-ready values."""
        totals = {name: self.total(name) for name in ("sent", "accepted", "duplicates", "rejected")}
        return {
            **totals,
            "calls": self.calls,
            "commands": self.commands,
            "up_to": self.up_to.isoformat() if self.up_to else None,
            "kinds": {kind: vars(t).copy() for kind, t in self.kinds.items()},
            "rejections": list(self.rejections),
        }


_SENDERS: dict[str, Callable[[IngestClient, list[list[Any]]], Awaitable[Any]]] = {
    EVENT: lambda client, batches: client.stream_events(batches),
    SAMPLE: lambda client, batches: client.stream_quality(batches),
    CLIENT_EVENT: lambda client, batches: client.stream_client_events(batches),
    USAGE: lambda client, batches: client.stream_usage(batches),
}


class Driver:
    """Sends items with ``client``; ``progress`` is called with the tally after every round."""

    def __init__(
        self,
        client: IngestClient,
        *,
        batch: int = 1000,
        progress: Callable[[Tally], None] | None = None,
        host: RoomHost | None = None,
    ) -> None:
        if not 1 <= batch <= 5000:
            raise ValueError("batch must be 1-5000 (the server's limit per message)")
        self.client = client
        self.batch = batch
        self.tally = Tally()
        self._progress = progress
        self._host = host
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """End :meth:`live` after the round in flight (safe from a signal handler)."""
        self._stop.set()

    async def _send(self, rounds: dict[str, list[Item]]) -> None:
        sends = []
        for kind, items in rounds.items():
            if items:
                messages = [item.message for item in items]
                batches = [messages[i : i + self.batch] for i in range(0, len(messages), self.batch)]
                sends.append(self._stream(kind, batches, items))
        for send in sends:  # one stream at a time: the store has one writer anyway (SQLite)
            await send
        if self._progress is not None:
            self._progress(self.tally)

    async def _stream(self, kind: str, batches: list[list[Any]], items: list[Item]) -> None:
        response = await _SENDERS[kind](self.client, batches)
        tally = self.tally.kinds[kind]
        tally.sent += len(items)
        tally.accepted += response.accepted
        tally.duplicates += response.duplicates
        tally.rejected += response.rejected
        for rejection in response.rejections:
            if len(self.tally.rejections) < _KEPT_REJECTIONS:
                fields = f" ({', '.join(rejection.fields)})" if rejection.fields else ""
                self.tally.rejections.append(
                    f"{kind} {rejection.id}: {rejection.code}: {rejection.reason}{fields}"
                )
        if kind == EVENT:
            self.tally.calls += sum(1 for item in items if getattr(item.message, "type", 0) == 101)
        last = datetime.fromtimestamp(items[-1].due / 1_000_000, UTC)
        self.tally.up_to = max(self.tally.up_to or last, last)

    def _take(self, source: Source, limit_us: int | None, samples: int) -> dict[str, list[Item]]:
        """The next round: the items due before ``limit_us`` (None: no limit), at most ``samples``
        samples; the first item due at or after the limit stays in ``source``. Items the host
        drops (a dismissed call's, a removed user's) are not sent."""
        rounds: dict[str, list[Item]] = {kind: [] for kind in KINDS}
        while (item := source.peek()) is not None:
            if limit_us is not None and item.due >= limit_us:
                break
            source.head = None
            if self._host is not None and not self._host.keep(item):
                continue
            rounds[item.kind].append(item)
            if item.kind == SAMPLE and len(rounds[SAMPLE]) >= samples:
                break
        return rounds

    async def backfill(self, source: Source, end: datetime) -> None:
        """Send every item of ``source`` due before ``end``; the rest stays in it for :meth:`live`.
        The next round is read while the previous one is on the wire."""
        limit, size = micros(end), self.batch * _ROUND_BATCHES
        rounds = await asyncio.to_thread(self._take, source, limit, size)
        while any(rounds.values()) and not self._stop.is_set():
            sending = asyncio.create_task(self._send(rounds))
            try:
                rounds = await asyncio.to_thread(self._take, source, limit, size)
            finally:
                await sending

    async def live(self, source: Source, *, clock: Callable[[], datetime]) -> None:
        """Send the items of ``source`` as they fall due by ``clock`` (the system's in
        ``rtc-console simulate``), one round a second, until :meth:`stop`."""
        while not self._stop.is_set():
            rounds = self._take(source, micros(clock()), 1_000_000_000)
            if any(rounds.values()):
                await self._send(rounds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=1.0)

    async def watch_commands(
        self, *, clock: Callable[[], datetime], retry_s: float = 5.0, log: Callable[[str], None] = print
    ) -> None:
        """Hold ``WatchRoomCommands`` open for the host's app until :meth:`stop`, reporting the
        events that carry out each command for one of its rooms (at ``clock()``). A stream that
        ends or fails is opened again after ``retry_s`` seconds (the failure passed to ``log``)."""
        host = self._host
        if host is None:
            raise ValueError("watching room commands needs a RoomHost")
        while not self._stop.is_set():
            try:
                stream = self.client.watch_room_commands(
                    sdk_app_ids=[host.sdk_app_id], server_name="rtc-console simulate"
                )
                async with stream:
                    async for response in stream:
                        await self._carry_out(host, response.command, clock())
            except RtcConsoleError as error:
                log(f"room commands: {error}; watching again in {retry_s:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=retry_s)

    async def _carry_out(self, host: RoomHost, command: Any, at: datetime) -> None:
        events = host.answer(command, at)
        if events:
            await self._stream(EVENT, [events], [Item(micros(at), EVENT, e) for e in events])
            self.tally.commands += 1
            if self._progress is not None:
                self._progress(self.tally)


class Source:
    """The model's items with one of look-ahead (the first not yet due)."""

    def __init__(self, items: Iterator[Item]) -> None:
        self._items = items
        self.head: Item | None = None

    def peek(self) -> Item | None:
        if self.head is None:
            self.head = next(self._items, None)
        return self.head
