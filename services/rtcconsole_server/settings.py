"""Server settings: the one place where every flag and environment variable is defined.

Each :class:`Settings` field carries its flag, environment variable, help text
and the commands it belongs to (field metadata); ``rtc-console``
builds its argparse flags from :func:`options`, the README's Configuration table
is :func:`configuration_table`, and :meth:`Settings.resolve` applies the order
*flag, then environment, then the field's default*. No default is written
anywhere else.

Conventions: the environment variable is ``RTC_`` and the flag's name in upper
case (``--listen`` → ``RTC_LISTEN``); a duration is a ``timedelta`` field whose
flag ends in ``-seconds`` and takes (fractional) seconds, as does its variable;
a switch is ``--x`` / ``--no-x`` and its variable takes ``on|off`` (``1|0``,
``true|false``, ``yes|no``); a list (``tuple[str, ...]``, networks in CIDR
notation) takes comma-separated values, and its flag may be repeated (each
occurrence adds to the list); an empty variable counts as unset.
``python -m rtcconsole_server.settings`` prints the Configuration table.
"""

from __future__ import annotations

import ipaddress
import typing
from collections.abc import Callable, Collection, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

__all__ = [
    "COMMANDS",
    "DEFAULT_DATA_DIR",
    "EMBEDDED_HTTP_LISTEN",
    "LISTEN_FORM",
    "LOG_FORMATS",
    "METRICS_LISTEN_FORM",
    "Alias",
    "Option",
    "SettingError",
    "Settings",
    "configuration_table",
    "listen_address",
    "metrics_listen_address",
    "options",
    "split_listen",
]

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "rtc-console"

COMMANDS = ("global", "serve", "aggregator", "dispatcher", "retention", "store")
"""Where a setting applies: ``global`` flags come before the command; ``store`` is the
store flags of ``migrate`` and ``admin …``."""
_RUNNERS = ("serve", "aggregator", "dispatcher", "retention")
_STORE = ("serve", "aggregator", "dispatcher", "retention", "store")
_STANDALONE = ("aggregator", "dispatcher", "retention")
"""The worker commands run alone: no HTTP door, so ``--metrics-listen`` is theirs."""
_CALLBACKS = "callback dispatcher (R15)"
_USAGE = "usage aggregator (R16)"
_RETENTION = "retention of quality samples and client events"


class SettingError(ValueError):
    """A value that does not parse, named by where it came from (flag or variable)."""


@dataclass(frozen=True)
class Alias:
    """A deprecated flag still accepted (hidden from ``--help``): its value times ``scale``
    is the setting's (``--callback-retry-window-hours`` has ``scale=3600``)."""

    flag: str
    commands: tuple[str, ...]
    scale: float = 1.0


LISTEN_FORM = "--listen takes HOST:PORT, e.g. 127.0.0.1:50762 (or a bare PORT, then 127.0.0.1)"
"""What ``--listen`` accepts, in words for error messages."""


def redis_key_prefix(text: str) -> str:
    """``--redis-key-prefix``'s value: not empty and without braces (they would become the Redis
    Cluster hash tag of every key; the app's own tag comes later in each key)."""
    if not text or "{" in text or "}" in text:
        raise ValueError(f"a Redis key prefix is not empty and has no braces, got {text!r}")
    return text


EMBEDDED_HTTP_LISTEN = "127.0.0.1:8080"
"""Where the HTTP door listens when ``--http-listen`` is unset and the server runs embedded."""
LOG_FORMATS = ("text", "json")


def log_format(text: str) -> str:
    """``--log-format``'s value: one of :data:`LOG_FORMATS`."""
    word = text.strip().lower()
    if word not in LOG_FORMATS:
        raise ValueError(f"one of {', '.join(LOG_FORMATS)}, got {text!r}")
    return word


def http_listen_address(text: str) -> str:
    """``--http-listen``'s value: ``off`` (no HTTP door), or an address as :func:`listen_address`."""
    stripped = text.strip()
    return "off" if stripped.lower() == "off" else listen_address(stripped)


METRICS_LISTEN_FORM = "HOST:PORT, e.g. 127.0.0.1:9464 (or a bare PORT, then 127.0.0.1), or off"
"""What ``--metrics-listen`` accepts, in words for error messages."""


def metrics_listen_address(text: str) -> str | None:
    """``--metrics-listen``'s value: ``off`` (None: no listener), else a ``HOST:PORT`` as
    :func:`listen_address` makes it (a bare port means loopback), checked by :func:`split_listen`
    at once, so a bad one is a usage error rather than a failure after the store opened."""
    stripped = text.strip()
    if stripped.lower() == "off":
        return None
    address = listen_address(stripped)
    try:
        split_listen(address)
    except ValueError:
        raise ValueError(f"{METRICS_LISTEN_FORM}; got {text!r}") from None
    return address


def listen_address(text: str) -> str:
    """``--listen``'s value as the server binds it: a bare port number means loopback
    (``50762`` → ``127.0.0.1:50762``, never every interface by surprise); any other text is
    kept as given, and :func:`split_listen` checks it when the server binds."""
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit():
        return f"127.0.0.1:{stripped}"
    return stripped


def split_listen(address: str) -> tuple[str, int]:
    """The host and port of a ``HOST:PORT`` (``[::1]:PORT`` for IPv6); ``ValueError`` naming
    :data:`LISTEN_FORM` for anything else."""
    host, colon, port = listen_address(address).rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    if bracketed:
        host = host[1:-1]
    valid_host = bool(host) and (bracketed or ":" not in host)
    if not (colon and valid_host and port.isascii() and port.isdigit() and int(port) <= 65535):
        raise ValueError(f"{LISTEN_FORM}; got {address!r}")
    return host, int(port)


def _meta(
    *,
    flag: str,
    env: str,
    help: str,
    commands: tuple[str, ...],
    shown: str | None = None,
    metavar: str | None = None,
    group: str | None = None,
    aliases: tuple[Alias, ...] = (),
    parser: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """The metadata of a :class:`Settings` field: its flag and variable, ``help`` (units stated;
    the default is shown from the field, or as ``shown`` where it depends on the machine), the
    ``commands`` it belongs to, its ``--help`` ``group``, its deprecated ``aliases`` and, where
    the field's type says too little, the ``parser`` of its text (``ValueError`` if bad)."""
    return {
        "flag": flag,
        "env": env,
        "help": help,
        "commands": commands,
        "shown": shown,
        "metavar": metavar,
        "group": group,
        "aliases": aliases,
        "parser": parser,
    }


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything ``rtc-console`` can be told; durations are ``timedelta``. Read once at start."""

    log_level: str = field(default="INFO", metadata=_meta(
        flag="--log-level", env="RTC_LOG_LEVEL", commands=("global",), metavar="LEVEL",
        help="logging threshold: DEBUG, INFO, WARNING or ERROR",
    ))  # fmt: skip
    log_format: str = field(default="text", metadata=_meta(
        flag="--log-format", env="RTC_LOG_FORMAT", commands=("global",), metavar="FORMAT",
        parser=log_format,
        help="text (for people) or json (one object per line: time, level, logger, message and, for "
        "calls, correlation id, method, code and duration in ms)",
    ))  # fmt: skip
    listen: str = field(default="127.0.0.1:50051", metadata=_meta(
        flag="--listen", env="RTC_LISTEN", commands=("serve",), metavar="HOST:PORT",
        parser=listen_address,
        help="address the gRPC server binds, HOST:PORT ([::1]:PORT for IPv6); a bare PORT means "
        "127.0.0.1:PORT; port 0 picks a free one",
    ))  # fmt: skip
    http_listen: str | None = field(default=None, metadata=_meta(
        flag="--http-listen", env="RTC_HTTP_LISTEN", commands=("serve",), metavar="HOST:PORT|off",
        parser=http_listen_address,
        shown=f"{EMBEDDED_HTTP_LISTEN} in the embedded mode (SQLite, no --redis-url); off otherwise",
        help="address of the HTTP door: every console service over Connect (JSON and binary) and "
        "gRPC-Web, the web console, /metrics, /healthz and /readyz (docs/http.md); off: none; a bare "
        "PORT means 127.0.0.1:PORT; port 0 picks a free one",
    ))  # fmt: skip
    tls_cert: Path | None = field(default=None, metadata=_meta(
        flag="--tls-cert", env="RTC_TLS_CERT", commands=("serve",), metavar="FILE",
        shown="unset: plain text (loopback and trusted networks only)",
        help="PEM certificate chain of the gRPC listener; with --tls-key, gRPC is served over TLS",
    ))  # fmt: skip
    tls_key: Path | None = field(default=None, metadata=_meta(
        flag="--tls-key", env="RTC_TLS_KEY", commands=("serve",), metavar="FILE",
        shown="unset", help="PEM private key of --tls-cert",
    ))  # fmt: skip
    tls_client_ca: Path | None = field(default=None, metadata=_meta(
        flag="--tls-client-ca", env="RTC_TLS_CLIENT_CA", commands=("serve",), metavar="FILE",
        shown="unset: no client certificates asked for",
        help="PEM CA bundle for mutual TLS on the data plane: the data-plane RPCs (IngestService, "
        "room-entry checks) then also need a client certificate signed by it (docs/operations.md)",
    ))  # fmt: skip
    tls_data_plane_listen: str | None = field(default=None, metadata=_meta(
        flag="--tls-data-plane-listen", env="RTC_TLS_DATA_PLANE_LISTEN", commands=("serve",),
        metavar="HOST:PORT", parser=listen_address, shown="unset (required with --tls-client-ca)",
        help="the data plane's gRPC listener with --tls-client-ca: the same services, but the TLS "
        "handshake requires a client certificate signed by it (gRPC Python cannot ask for an optional "
        "one on --listen, decision 0031); the data-plane RPCs answer only here",
    ))  # fmt: skip
    data_dir: Path = field(default=DEFAULT_DATA_DIR, metadata=_meta(
        flag="--data-dir", env="RTC_DATA_DIR", commands=_STORE, metavar="DIR",
        shown="~/.local/share/rtc-console",
        help="directory of the default SQLite file, used when no database URL is given",
    ))  # fmt: skip
    database_url: str = field(default="", metadata=_meta(
        flag="--database-url", env="RTC_DATABASE_URL", commands=_STORE, metavar="URL",
        shown="sqlite:///$RTC_DATA_DIR/rtc-console.db",
        help="SQLAlchemy URL of the store: sqlite:///PATH or postgresql+psycopg://user:password@host/db",
    ))  # fmt: skip
    migrate: bool = field(default=True, metadata=_meta(
        flag="--migrate", env="RTC_MIGRATE", commands=_RUNNERS,
        help="apply pending migrations at start-up (PostgreSQL: under an advisory lock, so replicas "
        "may start together)",
    ))  # fmt: skip
    redis_url: str | None = field(default=None, metadata=_meta(
        flag="--redis-url", env="RTC_REDIS_URL", commands=("serve",), metavar="URL",
        shown="unset: live state (10-second slots, kept 60 min unless a figure keeps longer: "
        "real time up to 12 h; pub/sub) in process, for one server",
        help="redis://host:port/db (or redis+cluster://host:port, a Redis Cluster) to share live state "
        "between replicas (docs/live-state.md)",
    ))  # fmt: skip
    redis_key_prefix: str = field(default="rtc:", metadata=_meta(
        flag="--redis-key-prefix", env="RTC_REDIS_KEY_PREFIX", commands=("serve",), metavar="PREFIX",
        parser=redis_key_prefix,
        help="prefix of every live-state key and channel in Redis; replicas of one deployment share "
        "it, another deployment (or a test) on the same Redis uses its own",
    ))  # fmt: skip
    data_plane_token: str | None = field(default=None, metadata=_meta(
        flag="--data-plane-token", env="RTC_DATA_PLANE_TOKEN", commands=("serve",),
        metavar="TOKEN", shown="unset: data-plane RPCs refused",
        help="bearer token of the data plane (media servers: ingest, room-entry checks)",
    ))  # fmt: skip
    run_workers: bool = field(default=True, metadata=_meta(
        flag="--workers", env="RTC_WORKERS", commands=("serve",),
        help="run the background workers (appliers, dispatcher, aggregator, retention) inside this server",
    ))  # fmt: skip
    worker_interval: timedelta = field(default=timedelta(seconds=15), metadata=_meta(
        flag="--worker-interval-seconds", env="RTC_WORKER_INTERVAL_SECONDS",
        commands=("serve",), help="how often the operation and config appliers look for due work, in seconds",
    ))  # fmt: skip
    operation_delay: timedelta = field(default=timedelta(minutes=3), metadata=_meta(
        flag="--operation-delay-seconds", env="RTC_OPERATION_DELAY_SECONDS",
        commands=("serve",),
        help="seconds after acceptance a disable/enable/delete takes effect (R7: 3-5 minutes; with the "
        "default worker interval it lands 3-3.5 minutes after acceptance)",
    ))  # fmt: skip
    config_delay: timedelta = field(default=timedelta(minutes=5), metadata=_meta(
        flag="--config-delay-seconds", env="RTC_CONFIG_DELAY_SECONDS",
        commands=("serve",),
        help="seconds after it is made a function-settings change takes effect (R11: 5 minutes); a "
        "second change before then replaces the pending one and restarts the delay (with the default worker "
        "interval it lands 5-5.25 minutes after the change)",
    ))  # fmt: skip
    push_domain_suffix: str = field(default="livepush.rtc-console.local", metadata=_meta(
        flag="--push-domain-suffix", env="RTC_PUSH_DOMAIN_SUFFIX",
        commands=("serve",), metavar="SUFFIX",
        help="DNS suffix of the push domain <sdk_app_id>.<suffix> an app gets when relayed push first "
        "takes effect (R5, R12)",
    ))  # fmt: skip
    secondary_auth_ttl: timedelta = field(default=timedelta(minutes=30), metadata=_meta(
        flag="--secondary-auth-ttl-seconds", env="RTC_SECONDARY_AUTH_TTL_SECONDS",
        commands=("serve",), help="lifetime of a secondary-authentication token, in seconds (R7: 30 minutes)",
    ))  # fmt: skip
    totp_issuer: str = field(default="rtc-console", metadata=_meta(
        flag="--totp-issuer", env="RTC_TOTP_ISSUER", commands=("serve",), metavar="NAME",
        help="issuer that authenticator apps show for enrolled TOTP seeds",
    ))  # fmt: skip
    grace: timedelta = field(default=timedelta(seconds=10), metadata=_meta(
        flag="--grace-seconds", env="RTC_GRACE_SECONDS", commands=_RUNNERS,
        help="on SIGTERM/SIGINT, seconds the calls and worker steps in flight get before they are cancelled",
    ))  # fmt: skip
    metrics_listen: str | None = field(default=None, metadata=_meta(
        flag="--metrics-listen", env="RTC_METRICS_LISTEN", commands=_STANDALONE, metavar="HOST:PORT|off",
        parser=metrics_listen_address, shown="unset: no listener",
        help="address of this process's own GET /metrics (Prometheus text, OpenMetrics on Accept: its "
        "worker counters and process_* series, docs/operations.md) and /healthz; a bare PORT means "
        "127.0.0.1:PORT; port 0 picks a free one (logged as `metrics listening on HOST:PORT`); off: none; "
        "unused with --once. Not a serve flag: serve's /metrics is on its HTTP door (--http-listen)",
    ))  # fmt: skip
    run_aggregator: bool = field(default=True, metadata=_meta(
        flag="--aggregator", env="RTC_AGGREGATOR", commands=("serve",), group=_USAGE,
        help="run the usage aggregator among this server's workers (off: `rtc-console aggregator` runs it)",
    ))  # fmt: skip
    aggregation_interval: timedelta = field(default=timedelta(minutes=5), metadata=_meta(
        flag="--aggregation-interval-seconds",
        env="RTC_AGGREGATION_INTERVAL_SECONDS", commands=("serve", "aggregator"), group=_USAGE,
        aliases=(Alias("--interval-seconds", ("aggregator",)),),
        help="seconds between two aggregator ticks (R16: statistics every 5 minutes)",
    ))  # fmt: skip
    aggregation_watermark: timedelta = field(default=timedelta(minutes=5), metadata=_meta(
        flag="--aggregation-watermark-seconds",
        env="RTC_AGGREGATION_WATERMARK_SECONDS", commands=("serve", "aggregator"), group=_USAGE,
        aliases=(Alias("--watermark-seconds", ("aggregator",)),),
        help="seconds a 5-minute window waits after its end before it is published: with the default "
        "interval a window appears 5-15 minutes after it ends (R16: 5-20); later records re-open it",
    ))  # fmt: skip
    aggregation_batch: int = field(default=5000, metadata=_meta(
        flag="--aggregation-batch-windows", env="RTC_AGGREGATION_BATCH_WINDOWS",
        commands=("serve", "aggregator"), group=_USAGE, metavar="N",
        aliases=(Alias("--batch-windows", ("aggregator",)),),
        help="windows the aggregator publishes per transaction",
    ))  # fmt: skip
    callback_timeout: timedelta = field(default=timedelta(seconds=5), metadata=_meta(
        flag="--callback-timeout-seconds", env="RTC_CALLBACK_TIMEOUT_SECONDS",
        commands=("serve", "dispatcher"), group=_CALLBACKS,
        help="a callback POST succeeds only with HTTP 200 within this many seconds, headers and body",
    ))  # fmt: skip
    callback_retry_window: timedelta = field(default=timedelta(hours=24), metadata=_meta(
        flag="--callback-retry-window-seconds",
        env="RTC_CALLBACK_RETRY_WINDOW_SECONDS", commands=("serve", "dispatcher"), group=_CALLBACKS,
        aliases=(Alias("--callback-retry-window-hours", ("serve", "dispatcher"), scale=3600.0),),
        help="a failing delivery is retried until an attempt fails this many seconds after it was "
        "queued; then it is EXPIRED and its room moves on",
    ))  # fmt: skip
    callback_backoff_cap: timedelta = field(default=timedelta(hours=1), metadata=_meta(
        flag="--callback-backoff-cap-seconds",
        env="RTC_CALLBACK_BACKOFF_CAP_SECONDS", commands=("serve", "dispatcher"), group=_CALLBACKS,
        help="longest wait between two attempts, in seconds: after the 1st, 2nd, 3rd, 4th, 5th and later "
        "failures the next attempt comes 5 s, 5 min, 30 min, 2 h, 5 h, 10 h later (Svix's schedule), each "
        "wait at most this cap and up to 20% shorter at random (docs/decisions/0015)",
    ))  # fmt: skip
    callback_lease: timedelta = field(default=timedelta(seconds=60), metadata=_meta(
        flag="--callback-lease-seconds", env="RTC_CALLBACK_LEASE_SECONDS",
        commands=("serve", "dispatcher"), group=_CALLBACKS,
        help="seconds a claimed delivery stays reserved for its dispatcher; if that one dies, another "
        "retries it after this; must exceed the callback timeout",
    ))  # fmt: skip
    callback_concurrency: int = field(default=32, metadata=_meta(
        flag="--callback-concurrency", env="RTC_CALLBACK_CONCURRENCY",
        commands=("serve", "dispatcher"), group=_CALLBACKS, metavar="N",
        help="POSTs in flight at once per dispatcher, each to a different room",
    ))  # fmt: skip
    callback_app_concurrency: int = field(default=8, metadata=_meta(
        flag="--callback-app-concurrency", env="RTC_CALLBACK_APP_CONCURRENCY",
        commands=("serve", "dispatcher"), group=_CALLBACKS, metavar="N",
        help="POSTs in flight at once per dispatcher for one app (at most the callback concurrency): "
        "an app with slow receivers cannot take every slot from the other apps",
    ))  # fmt: skip
    callback_allow_networks: tuple[str, ...] = field(default=(), metadata=_meta(
        flag="--callback-allow-network", env="RTC_CALLBACK_ALLOW_NETWORK",
        commands=("serve", "dispatcher"), group=_CALLBACKS, metavar="CIDR",
        shown="unset: only public (globally routable) addresses",
        help="networks callbacks may reach although they are not public, in CIDR notation and "
        "comma-separated (10.1.0.0/16,fd00::/8); the flag may be repeated; checked on the address "
        "connected to, after DNS (docs/callbacks.md)",
    ))  # fmt: skip
    callback_allow_loopback: bool = field(default=False, metadata=_meta(
        flag="--callback-allow-loopback", env="RTC_CALLBACK_ALLOW_LOOPBACK",
        commands=("serve", "dispatcher"), group=_CALLBACKS,
        help="let callbacks reach loopback addresses (127.0.0.0/8, ::1): for a receiver on this machine "
        "during development; never in production",
    ))  # fmt: skip
    callback_poll_interval: timedelta = field(default=timedelta(seconds=1), metadata=_meta(
        flag="--callback-poll-interval-seconds",
        env="RTC_CALLBACK_POLL_INTERVAL_SECONDS", commands=("serve", "dispatcher"), group=_CALLBACKS,
        aliases=(Alias("--callback-poll-seconds", ("serve", "dispatcher")),),
        help="how often an idle dispatcher looks for due deliveries, in seconds",
    ))  # fmt: skip

    run_retention: bool = field(default=True, metadata=_meta(
        flag="--retention", env="RTC_RETENTION", commands=("serve",), group=_RETENTION,
        help="run the retention worker among this server's workers (off: `rtc-console retention` runs it)",
    ))  # fmt: skip
    retention_days: int = field(default=14, metadata=_meta(
        flag="--retention-days", env="RTC_RETENTION_DAYS", commands=("serve", "retention"),
        group=_RETENTION, metavar="DAYS",
        help="whole UTC days of quality samples and client events kept before today: older ones are "
        "removed (PostgreSQL drops their day partitions; docs/monitoring.md, Retention)",
    ))  # fmt: skip
    retention_interval: timedelta = field(default=timedelta(hours=1), metadata=_meta(
        flag="--retention-interval-seconds", env="RTC_RETENTION_INTERVAL_SECONDS",
        commands=("serve", "retention"), group=_RETENTION,
        help="seconds between two retention runs (each also makes the partitions of the next 2 days)",
    ))  # fmt: skip
    retention_batch: int = field(default=5000, metadata=_meta(
        flag="--retention-batch-rows", env="RTC_RETENTION_BATCH_ROWS",
        commands=("serve", "retention"), group=_RETENTION, metavar="N",
        help="SQLite: rows one retention delete transaction looks at, at most (the store thread is "
        "free between two)",
    ))  # fmt: skip

    def __post_init__(self) -> None:
        if not self.database_url:  # the default: a SQLite file in the data directory
            url = f"sqlite:///{Path(self.data_dir).expanduser() / 'rtc-console.db'}"
            object.__setattr__(self, "database_url", url)

    @property
    def embedded(self) -> bool:
        """The one-command mode: the store is a SQLite file and live state is in process."""
        return self.database_url.startswith("sqlite") and not self.redis_url

    @property
    def http_address(self) -> str | None:
        """Where the HTTP door listens, or None for none: ``--http-listen`` if given (``off``: none),
        else :data:`EMBEDDED_HTTP_LISTEN` in the :attr:`embedded` mode (decision 0030)."""
        if self.http_listen is not None:
            return None if self.http_listen == "off" else self.http_listen
        return EMBEDDED_HTTP_LISTEN if self.embedded else None

    @classmethod
    def resolve(
        cls, commands: Collection[str], flags: Mapping[str, Any], environ: Mapping[str, str]
    ) -> Settings:
        """The settings of ``commands``: each field from ``flags`` (parsed values by field name,
        only those given), else from its variable in ``environ``, else its default.

        Raises :class:`SettingError` for a variable that does not parse."""
        values: dict[str, Any] = {}
        for option in options(commands):
            if option.name in flags:
                value = flags[option.name]
                if option.kind is tuple and isinstance(value, list):  # a repeated flag: one tuple each
                    value = tuple(item for given in value for item in given)
                values[option.name] = value
            elif environ.get(option.env):
                values[option.name] = option.parse(environ[option.env], source=option.env)
        return cls(**values)


@dataclass(frozen=True)
class Option:
    """One setting as the command line sees it (a view of a :class:`Settings` field)."""

    name: str
    kind: type
    """``str``, ``int``, ``bool``, ``Path``, ``timedelta`` (``str | None`` is ``str``) or ``tuple``
    (``tuple[str, ...]``: comma-separated networks in CIDR notation, the flag repeatable)."""
    default: Any
    flag: str
    env: str
    help: str
    commands: tuple[str, ...]
    shown: str
    """The default as a user reads it: seconds for a duration, on/off for a switch."""
    metavar: str | None
    group: str | None
    aliases: tuple[Alias, ...]
    parser: Callable[[str], Any] | None = None
    """The field's own parser of text, if its type is not enough (``--listen``)."""

    def parse(self, text: str, *, source: str | None = None, scale: float = 1.0) -> Any:
        """``text`` (a flag's or a variable's value) as the field's type; a duration is seconds
        times ``scale``, a count at least 1. Raises :class:`SettingError` naming ``source``."""
        try:
            return self.parser(text) if self.parser else _PARSERS[self.kind](text, scale)
        except ValueError as error:
            raise SettingError(f"{source or self.flag}: {error}") from None

    @property
    def repeatable(self) -> bool:
        """A list setting: its flag may be given several times (argparse ``action="append"``;
        :meth:`Settings.resolve` joins the occurrences)."""
        return self.kind is tuple


def _seconds(text: str, scale: float) -> timedelta:
    try:
        value = float(text) * scale
    except ValueError:
        raise ValueError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:  # also refuses nan
        raise ValueError(f"must be at least 0, got {text!r}")
    return timedelta(seconds=value)


def _count(text: str, _scale: float) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise ValueError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _networks(text: str, _scale: float) -> tuple[str, ...]:
    found = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            found.append(str(ipaddress.ip_network(part.strip(), strict=True)))
        except ValueError as error:
            raise ValueError(f"not a network in CIDR notation: {part.strip()!r} ({error})") from None
    return tuple(found)


def _switch(text: str, _scale: float) -> bool:
    word = text.strip().lower()
    if word in ("1", "on", "true", "yes"):
        return True
    if word in ("0", "off", "false", "no"):
        return False
    raise ValueError(f"not on or off: {text!r}")


_PARSERS: dict[type, Callable[[str, float], Any]] = {
    str: lambda text, _scale: text,
    Path: lambda text, _scale: Path(text).expanduser(),
    int: _count,
    bool: _switch,
    timedelta: _seconds,
    tuple: _networks,
}


def _kind(annotation: Any) -> type:
    if typing.get_origin(annotation) is tuple:
        return tuple
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    kind = args[0] if args else annotation
    if kind not in _PARSERS:
        raise TypeError(f"no parser for settings of type {annotation!r}")
    return typing.cast(type, kind)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, timedelta):
        return f"{value.total_seconds():g}"
    return str(value)


def options(commands: Collection[str] = COMMANDS) -> list[Option]:
    """The settings that apply to any of ``commands``, in field order."""
    hints = typing.get_type_hints(Settings)
    found = []
    for f in fields(Settings):
        meta = f.metadata
        if "flag" not in meta:
            raise TypeError(f"Settings.{f.name} has no flag: declare it with field(metadata=_meta(...))")
        if not set(meta["commands"]) & set(commands):
            continue
        default = f.default if f.default is not MISSING else None
        shown = meta["shown"] or _shown(default)
        found.append(
            Option(f.name, _kind(hints[f.name]), default, meta["flag"], meta["env"], meta["help"],
                   meta["commands"], shown, meta["metavar"], meta["group"], meta["aliases"],
                   meta.get("parser"))
        )  # fmt: skip
    return found


def configuration_table() -> str:
    """The README's Configuration table (Markdown), one row per setting."""
    rows = ["| flag | env | default | commands | meaning |", "|---|---|---|---|---|"]
    for option in options():
        flag = f"`{option.flag}` / `--no-{option.flag[2:]}`" if option.kind is bool else f"`{option.flag}`"
        where = "all (before the command)" if option.commands == ("global",) else ", ".join(option.commands)
        shown = option.shown if option.shown.startswith("unset") else f"`{option.shown}`"
        rows.append(f"| {flag} | `{option.env}` | {shown} | {where} | {option.help} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(configuration_table())
