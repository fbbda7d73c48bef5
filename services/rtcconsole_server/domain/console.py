"""The domain, assembled: each context's use cases over one store, clock and live state.

``Console.build`` is the only place that knows every context; it wires the seams
that keep contexts acyclic (event ingest queues callbacks and acknowledges room commands
through one hook, the lifecycle checks secondary authentication through a protocol).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.apps import Apps, Lifecycle, Materials, Tags
from rtcconsole_server.domain.auth import Accounts, AccountSettings, SecondaryAuth, Signatures
from rtcconsole_server.domain.callbacks import Deliveries, queue_callbacks
from rtcconsole_server.domain.common import AppStateCache, DestinationPolicy, PageTokens
from rtcconsole_server.domain.config import Config
from rtcconsole_server.domain.events import EventIngest, EventInput
from rtcconsole_server.domain.monitor import (
    CallDetails,
    CallQuality,
    Calls,
    ClientEventIngest,
    CommandWatch,
    QualityIngest,
    RealtimeCounter,
    RealtimeReads,
    RealtimeStream,
    RoomCommands,
    RoomEventStream,
    acknowledge_commands,
)
from rtcconsole_server.domain.usage import Billing, UsageIngest, UsageQuery
from rtcconsole_server.live import LiveState
from rtcconsole_server.settings import Settings
from rtcconsole_server.store import Store

__all__ = ["Console"]


@dataclass(frozen=True)
class Console:
    """Every use case of the console over one store."""

    store: Store
    clock: Clock
    settings: Settings
    live: LiveState | None
    """The live state (10-second slots, pub/sub), built before the domain; None where a
    process needs no live state (operator commands on the store)."""
    accounts: Accounts
    account_settings: AccountSettings
    """What an account sets for itself: its time zone (R17's "today")."""
    secondary: SecondaryAuth
    apps: Apps
    lifecycle: Lifecycle
    tags: Tags
    materials: Materials
    config: Config
    signatures: Signatures
    app_cache: AppStateCache
    """App, billing and R14 state of the gate and GetApp, cleared on every replica at a change
    (decision 0035)."""
    events: EventIngest
    deliveries: Deliveries
    usage: UsageQuery
    usage_ingest: UsageIngest
    billing: Billing
    quality_ingest: QualityIngest
    """Quality samples from the data plane (R20), exactly once per natural key."""
    client_event_ingest: ClientEventIngest
    """Client events (R20) and abnormal events (R21) from the data plane."""
    calls: Calls
    """The call list (R17), derived from the stored room events."""
    room_commands: RoomCommands
    """DismissRoom / RemoveUsers (R7) as stored commands, acknowledged by the events they cause."""
    command_watch: CommandWatch
    """WatchRoomCommands' loop and the wake-up of watchers on every replica."""
    call_details: CallDetails
    """The call details (R18): a call's room info and its users, from the same events."""
    call_quality: CallQuality
    """A user's views (R19), full-link series (R20) and client events in a call."""
    realtime_counter: RealtimeCounter
    """Counts every committed ingest batch into the live state's 10-second slots (R21)."""
    realtime: RealtimeReads
    """The real-time overview, charts, room list and breakdowns (R21), for paid editions."""
    room_event_stream: RoomEventStream
    """SubscribeRoomEvents' loop (R21) and the wake-up of its subscribers on every replica."""
    realtime_stream: RealtimeStream
    """SubscribeRealtime's frames: one per app per slot, broadcast to every subscriber (R21)."""

    @classmethod
    def build(
        cls, store: Store, clock: Clock, settings: Settings, *, live: LiveState | None = None
    ) -> Console:
        tokens = PageTokens.load(store)
        secondary = SecondaryAuth(store, clock, ttl=settings.secondary_auth_ttl, issuer=settings.totp_issuer)
        app_cache = AppStateCache(store, clock, live)
        apps = Apps(store, clock, tokens=tokens, cache=app_cache)
        room_commands = RoomCommands(store, clock, tokens=tokens)
        destinations = DestinationPolicy.of(  # where callbacks may go: configuration and test callbacks
            settings.callback_allow_networks, allow_loopback=settings.callback_allow_loopback
        )
        return cls(
            store=store,
            clock=clock,
            settings=settings,
            live=live,
            accounts=Accounts(store, clock, tokens=tokens),
            account_settings=AccountSettings(store),
            secondary=secondary,
            apps=apps,
            lifecycle=Lifecycle(store, clock, secondary, delay=settings.operation_delay, tokens=tokens),
            tags=Tags(store, clock, apps, tokens=tokens),
            materials=Materials(store, clock, tokens=tokens),
            config=Config(
                store,
                clock,
                delay=settings.config_delay,
                push_domain_suffix=settings.push_domain_suffix,
                destinations=destinations,
            ),
            signatures=Signatures(store, clock, cache=app_cache),
            app_cache=app_cache,
            events=EventIngest(store, clock, on_stored=_on_events_stored),
            deliveries=Deliveries(
                store,
                clock,
                timeout=settings.callback_timeout,
                tokens=tokens,
                destinations=destinations,
            ),
            usage=UsageQuery(store, clock),
            usage_ingest=UsageIngest(store, clock),
            billing=Billing(store, clock),
            quality_ingest=QualityIngest(store, clock),
            client_event_ingest=ClientEventIngest(store, clock),
            calls=Calls(store, clock, tokens=tokens),
            room_commands=room_commands,
            command_watch=CommandWatch(room_commands, clock, live),
            call_details=CallDetails(store, clock, tokens=tokens),
            call_quality=CallQuality(store, clock, tokens=tokens),
            realtime_counter=RealtimeCounter(store, clock, live),
            realtime=RealtimeReads(store, clock, live, tokens=tokens),
            room_event_stream=RoomEventStream(store, clock, live),
            realtime_stream=RealtimeStream(clock, live),
        )


def _on_events_stored(session: Session, events: Sequence[EventInput], now: datetime) -> int:
    """In the transaction that stores new events: acknowledge the room commands they carry
    out (monitor), then queue their callbacks (callbacks); how many callbacks were queued."""
    acknowledge_commands(session, events, now)
    return queue_callbacks(session, events, now)
