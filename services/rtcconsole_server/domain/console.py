"""The domain, assembled: each context's use cases over one store, clock and live state.

``Console.build`` is the only place that knows every context; it wires the seams
that keep contexts acyclic (event ingest queues callbacks through a hook, the
lifecycle checks secondary authentication through a protocol).
"""

from __future__ import annotations

from dataclasses import dataclass

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.apps import Apps, Lifecycle, Materials, Tags
from rtcconsole_server.domain.auth import Accounts, SecondaryAuth, Signatures
from rtcconsole_server.domain.callbacks import Deliveries, queue_callbacks
from rtcconsole_server.domain.common import DestinationPolicy, PageTokens
from rtcconsole_server.domain.config import Config
from rtcconsole_server.domain.events import EventIngest
from rtcconsole_server.domain.monitor import Calls, ClientEventIngest, QualityIngest
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
    secondary: SecondaryAuth
    apps: Apps
    lifecycle: Lifecycle
    tags: Tags
    materials: Materials
    config: Config
    signatures: Signatures
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

    @classmethod
    def build(
        cls, store: Store, clock: Clock, settings: Settings, *, live: LiveState | None = None
    ) -> Console:
        tokens = PageTokens.load(store)
        secondary = SecondaryAuth(store, clock, ttl=settings.secondary_auth_ttl, issuer=settings.totp_issuer)
        apps = Apps(store, clock, tokens=tokens)
        destinations = DestinationPolicy.of(  # where callbacks may go: configuration and test callbacks
            settings.callback_allow_networks, allow_loopback=settings.callback_allow_loopback
        )
        return cls(
            store=store,
            clock=clock,
            settings=settings,
            live=live,
            accounts=Accounts(store, clock, tokens=tokens),
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
            signatures=Signatures(store, clock),
            events=EventIngest(store, clock, on_stored=queue_callbacks),
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
        )
