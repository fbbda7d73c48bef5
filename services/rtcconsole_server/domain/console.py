"""The domain, assembled: one object per area, sharing the store and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.accounts import Accounts
from rtcconsole_server.domain.apps import Apps
from rtcconsole_server.domain.billing import Billing
from rtcconsole_server.domain.config import Config
from rtcconsole_server.domain.deliveries import Deliveries
from rtcconsole_server.domain.events import EventIngest
from rtcconsole_server.domain.lifecycle import Lifecycle
from rtcconsole_server.domain.materials import Materials
from rtcconsole_server.domain.secondary import SecondaryAuth
from rtcconsole_server.domain.signatures import Signatures
from rtcconsole_server.domain.tags import Tags
from rtcconsole_server.domain.usage_ingest import UsageIngest
from rtcconsole_server.domain.usage_query import UsageQuery
from rtcconsole_server.settings import Settings
from rtcconsole_server.store import Store

__all__ = ["Console"]


@dataclass(frozen=True)
class Console:
    """Every use case of the console over one store."""

    store: Store
    clock: Clock
    settings: Settings
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

    @classmethod
    def build(cls, store: Store, clock: Clock, settings: Settings) -> Console:
        secondary = SecondaryAuth(store, clock, ttl=settings.secondary_auth_ttl, issuer=settings.totp_issuer)
        apps = Apps(store, clock)
        return cls(
            store=store,
            clock=clock,
            settings=settings,
            accounts=Accounts(store, clock),
            secondary=secondary,
            apps=apps,
            lifecycle=Lifecycle(store, clock, secondary, delay=settings.operation_delay),
            tags=Tags(store, clock, apps),
            materials=Materials(store, clock),
            config=Config(
                store, clock, delay=settings.config_delay, push_domain_suffix=settings.push_domain_suffix
            ),
            signatures=Signatures(store, clock),
            events=EventIngest(store, clock),
            deliveries=Deliveries(store, clock, timeout=settings.callback_timeout),
            usage=UsageQuery(store, clock),
            usage_ingest=UsageIngest(store, clock),
            billing=Billing(store, clock),
        )
