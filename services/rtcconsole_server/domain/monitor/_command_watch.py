"""WatchRoomCommands' loop: every open room command to a media server, then each new one.

The store is the truth: a watcher reads the open commands (pending or delivered, not expired)
when it starts and again whenever it may have missed one, and sends those it has not sent yet
on this stream. What wakes it:

* a message on the live state's :data:`CHANNEL`, published by the replica that stored a new
  command (with Redis, every replica hears it within milliseconds; in process, only the one
  that stored it);
* failing that, :data:`POLL_INTERVAL` on the injected clock: a watcher on another replica
  without Redis, or one whose wake-up was dropped (pub/sub is at most once), still finds the
  command in the store within 5 seconds.

Every watcher gets every command (broadcast; a media server ignores rooms it does not host),
and a command is sent again on a new stream while it is open, so delivery is at least once:
media servers act on a ``command_id`` once. A command is marked delivered as it is handed to
the stream (just before: one that a failed stream never carried is sent again on the next). The
loop ends when the live state ends its subscriptions (the server's shutdown), so a held watcher
never keeps a graceful stop waiting.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Protocol, TypeVar

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.monitor._command_views import CommandState, RoomCommandView, as_delivered
from rtcconsole_server.domain.monitor._room_commands import RoomCommands
from rtcconsole_server.domain.monitor._wake import wake_or_poll
from rtcconsole_server.live import LiveState, LiveStateClosed, Subscription

__all__ = ["CHANNEL", "POLL_INTERVAL", "CommandWatch", "Offload"]

log = logging.getLogger("rtcconsole_server.room_commands")

CHANNEL = "room_commands"
"""The live-state channel that says "a new command is stored" (the payload is its id)."""
POLL_INTERVAL = timedelta(seconds=5)
"""How often a watcher looks at the store without a wake-up: 5 seconds."""

T = TypeVar("T")


class Offload(Protocol):
    """Runs a blocking store call off the event loop (the servicer's ``run``)."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


class CommandWatch:
    """Announces new commands and runs the watchers' loops, over one live state and clock."""

    def __init__(
        self,
        commands: RoomCommands,
        clock: Clock,
        live: LiveState | None,
        *,
        poll_interval: timedelta = POLL_INTERVAL,
    ) -> None:
        self._commands = commands
        self._clock = clock
        self._live = live
        self.poll_interval = poll_interval
        """How often a watcher looks at the store without a wake-up (default 5 s)."""

    async def announce(self, command_id: str) -> None:
        """Wake the watchers of every replica: a new command is stored.

        Best effort: the command is already stored, and a watcher that misses the wake-up
        finds it at its next look (:data:`POLL_INTERVAL`), so a failure is logged, not raised.
        """
        if self._live is None:
            return
        try:
            await self._live.publish(CHANNEL, command_id.encode())
        except LiveStateClosed:
            return
        except Exception as error:  # Redis unreachable: the command is stored, watchers poll
            log.warning("could not announce room command %s (watchers poll): %s", command_id, error)

    async def watch(
        self, offload: Offload, *, sdk_app_ids: Sequence[int] = (), server_name: str = ""
    ) -> AsyncIterator[RoomCommandView]:
        """Every open command of ``sdk_app_ids`` (empty: every app), oldest first, then each new
        one; ends when the server shuts down."""
        async with contextlib.AsyncExitStack() as stack:
            subscription: Subscription | None = None
            if self._live is not None:
                try:
                    subscription = await stack.enter_async_context(
                        self._live.subscribe(CHANNEL, max_queued=1)
                    )
                except LiveStateClosed:
                    return  # shutting down
            sent: set[str] = set()
            while True:
                found = await offload(functools.partial(self._commands.open_commands, sdk_app_ids))
                fresh = [c for c in found if c.command_id not in sent]
                pending = [c.command_id for c in fresh if c.state is CommandState.PENDING]
                if pending:  # recorded first: a watcher that leaves right after reading left it taken
                    await offload(functools.partial(self._commands.mark_delivered, pending, server_name))
                now = self._clock.now()
                for command in fresh:
                    yield as_delivered(command, now, server_name)
                    sent.add(command.command_id)
                sent &= {c.command_id for c in found}  # forget what is no longer open
                if not await self._wait(subscription):
                    return

    async def _wait(self, subscription: Subscription | None) -> bool:
        """Until a wake-up or the poll interval; False once the subscription has ended."""
        return await wake_or_poll(subscription, self._clock, self.poll_interval)
