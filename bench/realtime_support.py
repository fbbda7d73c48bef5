"""What the real-time benchmarks share: the Redis they run against, and a live quality feed.

- :func:`reachable_redis` finds a live state's Redis (``RTC_BENCH_REDIS_URL`` /
  ``RTC_BENCH_REDIS_CLUSTER_URL``, else the test URLs of ``.services.env``; ``off`` skips it) and
  :func:`delete_prefix` removes a run's keys afterwards.
- :class:`QualityFeed` streams quality samples stamped *now* into one app through the real
  ``IngestService.StreamQuality`` (the data-plane token), one batch of 1,000 every ``period_s``
  seconds (default 1 s: 10,000 samples per 10-second slot over 200 rooms and 1,000 users, the
  data of ``bench.quality_data``), so every slot a subscriber sees has figures to count.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime

import grpc
import redis.asyncio as aioredis

from bench import quality_data as data
from bench.rtc_servers import SERVICES_ENV_FILE
from rtcconsole.client import IngestClient
from rtcconsole_server.live.redis_cluster import is_cluster_url

__all__ = ["QualityFeed", "delete_prefix", "reachable_redis"]

_CALL_TIMEOUT_S = 60.0


def _env_file_value(key: str) -> str | None:
    try:
        lines = SERVICES_ENV_FILE.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        name, _, value = line.strip().partition("=")
        if name == key and value:
            return value
    return None


def _plain(url: str) -> str:
    return url.replace("+cluster", "", 1) if is_cluster_url(url) else url


def _client(url: str) -> aioredis.Redis | aioredis.RedisCluster:
    return aioredis.RedisCluster.from_url(_plain(url)) if is_cluster_url(url) else aioredis.from_url(url)


async def reachable_redis(label: str, bench_env: str, file_key: str, *, log_as: str) -> str | None:
    """The URL of this live state's Redis once it answers PING; None to skip its row (logged to
    stderr under ``log_as``, the benchmark's name)."""
    url = os.environ.get(bench_env, "").strip() or _env_file_value(file_key)
    if not url or url.lower() == "off":
        return None
    client = _client(url)
    try:
        await client.ping()
    except (aioredis.RedisError, OSError) as error:
        skipped = f"  {log_as}: {label} at {url} unreachable ({error}); its row skipped"
        print(skipped, file=sys.stderr, flush=True)
        return None
    finally:
        await client.aclose()
    return url


async def delete_prefix(url: str, prefix: str) -> None:
    """Delete the run's keys (one ``DEL`` per key: on a cluster they span cluster slots)."""
    client = _client(url)
    try:
        async for key in client.scan_iter(match=f"{prefix}*", count=1000):
            await client.delete(key)
    finally:
        await client.aclose()


class QualityFeed:
    """One StreamQuality batch of :data:`bench.quality_data.BATCH` samples every ``period_s``
    seconds (default 1 s), each stamped with the wall clock when it is sent; the ten groups of
    ``bench.quality_data`` in turn, so each of its 10,000 streams reports once per 10 s."""

    def __init__(
        self, channel: grpc.aio.Channel, token: str, sdk_app_id: int, *, period_s: float = 1.0
    ) -> None:
        self._client = IngestClient(channel, data_plane_token=token, timeout=_CALL_TIMEOUT_S)
        self._messages = data.Messages(sdk_app_id, data.groups(), datetime.now(UTC))
        self._period_s = period_s
        self.sent = 0
        """Samples accepted so far."""
        self.slow = 0
        """Batches that took longer than the period (the next one then goes at once)."""

    async def run(self) -> None:
        """Send until cancelled; a batch the server does not accept whole raises."""
        due = time.monotonic()
        while True:
            samples = self._messages.batch()
            now = time.time_ns()
            for sample in samples:  # every key is new: the group's streams at this instant
                sample.sample_time.seconds, sample.sample_time.nanos = divmod(now // 1000, 1_000_000)
                sample.sample_time.nanos *= 1000
            response = await self._client.stream_quality([samples])
            if response.accepted != data.BATCH:
                first = list(response.rejections)[:1]
                raise RuntimeError(f"the feed: accepted {response.accepted} of {data.BATCH}: {first}")
            self.sent += response.accepted
            due += self._period_s
            pause = due - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            else:
                self.slow += 1
                due = time.monotonic()
