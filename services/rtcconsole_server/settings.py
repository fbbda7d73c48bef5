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

    worker_interval: timedelta = timedelta(seconds=15)
    """How often the in-process workers look for due work."""

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
