"""Server settings, read once from flags and environment variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

__all__ = ["DEFAULT_DATA_DIR", "Settings"]

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "rtc-console"


def _default_database_url() -> str:
    return f"sqlite:///{DEFAULT_DATA_DIR / 'rtc-console.db'}"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything ``rtc-console serve`` can be told. Durations are ``timedelta``."""

    listen: str = "127.0.0.1:50051"
    """Address the gRPC server binds, ``host:port``; port 0 picks a free one. Env ``RTC_LISTEN``."""

    database_url: str = field(default_factory=_default_database_url)
    """SQLAlchemy URL: ``sqlite:///PATH`` (default, under the data directory) or
    ``postgresql+psycopg://user:password@host/db``. Env ``RTC_DATABASE_URL``."""

    redis_url: str | None = None
    """Redis for live state shared by replicas; None keeps live state in process. Env ``RTC_REDIS_URL``."""

    data_plane_token: str | None = None
    """Bearer token of the data plane (media servers); None disables the data-plane RPCs.
    Env ``RTC_DATA_PLANE_TOKEN``."""

    operation_delay: timedelta = timedelta(minutes=3)
    """How long after acceptance a disable/enable/delete takes effect (R7: 3–5 minutes).
    With the default worker interval the effect lands between 3 and 3.5 minutes."""

    config_delay: timedelta = timedelta(minutes=5)
    """How long after it is made a function-settings change takes effect (R11: about 5 minutes).
    A second change before then replaces the pending one and restarts this delay. With the
    default worker interval the effect lands between 5 and 5.25 minutes after the change."""

    push_domain_suffix: str = "livepush.rtc-console.local"
    """DNS suffix of the CDN push domain an app gets when relayed push first takes effect
    (R5, R12): ``<sdk_app_id>.<suffix>``. Env ``RTC_PUSH_DOMAIN_SUFFIX``."""

    worker_interval: timedelta = timedelta(seconds=15)
    """How often the in-process workers look for due work."""

    run_aggregator: bool = True
    """Run the usage aggregator among the workers (``--no-aggregator``: it runs elsewhere,
    ``rtc-console aggregator``). Any number of aggregators may share a store."""

    aggregation_interval: timedelta = timedelta(minutes=5)
    """How often the usage aggregator ticks (R16: statistics every 5 minutes)."""

    aggregation_watermark: timedelta = timedelta(minutes=5)
    """How long after its end a 5-minute window waits for stragglers before it is published:
    with both defaults a window appears 5-15 minutes after it ends (R16: 5-20). Later records
    re-open it (a new revision at the next tick)."""

    aggregation_batch: int = 5000
    """Windows the aggregator publishes per transaction."""

    secondary_auth_ttl: timedelta = timedelta(minutes=30)
    """Lifetime of a secondary-authentication token (R7: 30 minutes)."""

    run_workers: bool = True
    """Run the background workers inside the server process (embedded mode)."""

    migrate: bool = True
    """Apply pending database migrations at start-up."""

    grace: timedelta = timedelta(seconds=10)
    """How long SIGTERM waits for in-flight calls before cancelling them."""

    totp_issuer: str = "rtc-console"
    """Issuer shown by authenticator apps for enrolled TOTP seeds."""

    callback_timeout: timedelta = timedelta(seconds=5)
    """A callback POST succeeds only with HTTP 200 within this time (R15: 5 s), headers and body."""

    callback_retry_window: timedelta = timedelta(hours=24)
    """A failing delivery is retried until an attempt fails this long after it was queued
    (so for at least this long); then it is EXPIRED and its room moves on. Default 24 h."""

    callback_backoff_cap: timedelta = timedelta(minutes=10)
    """Longest wait between two attempts. After the k-th failed attempt the next comes after a
    random delay in [0, min(cap, 2^k s)] ("full jitter"): at most 2 s, 4 s, 8 s, ..., 10 min."""

    callback_lease: timedelta = timedelta(seconds=60)
    """How long a claimed delivery is reserved for the dispatcher that claimed it. If that
    dispatcher dies, another one retries the delivery after this. Must exceed ``callback_timeout``."""

    callback_concurrency: int = 32
    """POSTs in flight at once per dispatcher (each to a different room)."""

    callback_poll_interval: timedelta = timedelta(seconds=1)
    """How often an idle dispatcher looks for due deliveries."""
