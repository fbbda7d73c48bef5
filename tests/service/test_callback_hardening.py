"""Callbacks hardened (issue 10, §3): no SSRF, one deadline per POST, fair slots, never stuck.

Also the configuration-time refusal of literal forbidden addresses (FAILED_PRECONDITION).

Everything runs against real HTTP receivers on 127.0.0.1, on SQLite and PostgreSQL.
The shared ``server`` fixture opens loopback (``callback_allow_loopback``); the tests of
the default policy build their dispatcher or test-callback use case without it. Retry
rules run on the injected clock; deadlines are short real ones (0.5 s), and the tests
assert outcomes and order, never how long something took.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy import update

from rtcconsole.callbacks import CallbackEvent
from rtcconsole.v1 import config_service_pb2 as config_pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.callbacks import (
    THREAD_PREFIX,
    Deliveries,
    DeliveryView,
    Dispatcher,
    generic_failure,
)
from rtcconsole_server.domain.callbacks import TestCallbackResult as SentTest
from rtcconsole_server.domain.callbacks import callback_body as real_callback_body
from rtcconsole_server.domain.common import Caller, DestinationPolicy, IPAddress
from rtcconsole_server.server import Server, build_server
from rtcconsole_server.settings import Settings
from rtcconsole_server.store.models import CallbackDelivery
from tests.callback_support import DripReceiver, Receiver, report, room_event, set_callback
from tests.support import Tenant, fails, new_tenant

HALF_SECOND = timedelta(seconds=0.5)
DRIP_DEADLINE = timedelta(seconds=2)
"""The dripping-receiver test's deadline: long enough that a healthy local receiver answers
within it on a loaded machine (0.5 s was not, with three test workers on two cores), far
shorter than a drip (a byte every 0.1 s, over 100 bytes)."""


def _caller(tenant: Tenant) -> Caller:
    return Caller(tenant.account_id, "test")


async def _views(server: Server, tenant: Tenant, sdk_app_id: int) -> dict[str, DeliveryView]:
    page = await asyncio.to_thread(
        server.console.deliveries.list,
        _caller(tenant),
        sdk_app_id,
        room="",
        state=None,
        page_size_requested=100,
        page_token="",
    )
    return {v.event_id: v for v in page.items}


@asynccontextmanager
async def _dispatcher(server: Server, clock: ManualClock, **overrides: Any) -> AsyncIterator[Dispatcher]:
    """A dispatcher of the test's store with ``overrides`` of the server's settings."""
    resolver = overrides.pop("resolver", None)
    settings = replace(server.settings, **overrides)
    with ThreadPoolExecutor(4) as executor:
        dispatcher = Dispatcher.build(server.console.store, clock, settings, executor, resolver=resolver)
        try:
            yield dispatcher
        finally:
            await dispatcher.aclose()


def _test_callbacks(server: Server, **options: Any) -> Deliveries:
    """The test-callback use case with its own destination policy (default: public only)."""
    return Deliveries(server.console.store, server.console.clock, **options)


class FakeDns:
    """A resolver that answers what the test says, and counts lookups."""

    def __init__(self, **answers: Sequence[str]) -> None:
        self.answers = {host: list(addresses) for host, addresses in answers.items()}
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        self.lookups.append(host)
        return [ipaddress.ip_address(a) for a in self.answers[host]]


# ------------------------------------------------------------ SSRF: the default policy

LOOPBACK_SPELLINGS = ["127.0.0.1", "localhost", "2130706433", "0x7f000001", "127.1"]
"""Hosts the system resolver turns into 127.0.0.1 (a receiver listening there gets them)."""
OTHER_FORBIDDEN = ["0.0.0.0", "[::1]", "[::ffff:127.0.0.1]"]


async def test_by_default_no_spelling_of_loopback_is_delivered_and_the_refusal_is_retried(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    hosts = LOOPBACK_SPELLINGS + OTHER_FORBIDDEN
    with Receiver() as receiver:
        apps = {}
        for index, host in enumerate(hosts):
            app = await tenant.create_app(f"ssrf{index}")
            apps[host] = app.sdk_app_id
            await set_callback(
                server.console.store, app.sdk_app_id, now=clock.now(), room_event_url=receiver.url(host=host)
            )
            await report(tenant.channel, [room_event(f"e-{index}", app.sdk_app_id, at=clock.now())])
        async with _dispatcher(server, clock, callback_allow_loopback=False) as refusing:
            assert await refusing.run_once() == len(hosts)
            clock.advance(seconds=5)  # past the first backoff: the refusal is a failure like any other
            assert await refusing.run_once() == len(hosts)
        assert receiver.received == []
        for host, sdk_app_id in apps.items():
            [view] = (await _views(server, tenant, sdk_app_id)).values()
            assert view.state == "pending" and view.next_attempt_at is not None, host
            assert [(a.status_code, a.error) for a in view.attempts] == [(0, "destination not allowed")] * 2
        clock.advance(minutes=5)
        async with _dispatcher(server, clock, callback_allow_loopback=True) as development:
            await development.run_once()
    # the same URLs reach the receiver once loopback is opened: the resolver read every spelling,
    # and what was refused before was the address it resolved to ([::ffff:127.0.0.1] too where the
    # host has dual-stack sockets; 0.0.0.0 is not loopback and stays refused)
    received = {e.event_id for e in receiver.events()}
    assert {f"e-{hosts.index(h)}" for h in LOOPBACK_SPELLINGS} <= received
    assert f"e-{hosts.index('0.0.0.0')}" not in received


async def test_a_test_callback_reads_the_same_for_a_forbidden_closed_or_silent_receiver(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("probe")
    store = server.console.store
    public_only = _test_callbacks(server, timeout=HALF_SECOND)
    development = _test_callbacks(
        server, timeout=HALF_SECOND, destinations=DestinationPolicy(allow_loopback=True)
    )

    async def probe(deliveries: Deliveries, url: str) -> tuple[int, str, str]:
        await set_callback(store, app.sdk_app_id, now=clock.now(), room_event_url=url)
        result = await asyncio.to_thread(deliveries.send_test, _caller(tenant), app.sdk_app_id, event_group=1)
        return result.status_code, result.error, result.response_body

    with Receiver() as receiver, DripReceiver(phase="headers") as silent:
        receiver.answer = "答".encode() * 1000  # 3000 bytes of UTF-8
        forbidden = await probe(public_only, receiver.url())
        forbidden_name = await probe(public_only, receiver.url(host="localhost"))
        metadata = await probe(public_only, "http://169.254.169.254/latest/meta-data/")
        no_answer = await probe(development, silent.url())
        answered = await probe(development, receiver.url())
        closed_url = receiver.url()
    closed = await probe(development, closed_url)
    generic = generic_failure(0.5)
    assert forbidden == forbidden_name == metadata == closed == no_answer == (0, generic, "")
    status, error, body = answered
    assert (status, error) == (200, "")
    assert body == "答" * 170 + "\ufffd"  # 512 bytes at most: 170 characters and a cut one
    assert len(receiver.received) == 1 and silent.finished == 0


async def test_the_resolved_address_is_checked_at_each_connection(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("rebind")
    dns = FakeDns(**{"hooks.example": ["127.0.0.1"]})
    with Receiver() as receiver:
        url = f"http://hooks.example:{receiver.port}/cb"
        await set_callback(server.console.store, app.sdk_app_id, now=clock.now(), room_event_url=url)
        opened = {"callback_allow_loopback": False, "callback_allow_networks": ("127.0.0.1/32",)}
        async with _dispatcher(server, clock, resolver=dns, **opened) as dispatcher:
            await report(tenant.channel, [room_event("first", app.sdk_app_id, at=clock.now())])
            await dispatcher.run_once()  # 127.0.0.1 is listed: allowed
            dns.answers["hooks.example"] = ["169.254.169.254"]  # the name now points elsewhere
            await report(tenant.channel, [room_event("second", app.sdk_app_id, at=clock.now(), user="b")])
            await dispatcher.run_once()
            dns.answers["hooks.example"] = ["10.0.0.7", "127.0.0.1"]  # only the allowed one is tried
            clock.advance(seconds=5)
            await dispatcher.run_once()
    assert [e.event_id for e in receiver.events()] == ["first", "second"]
    assert receiver.received[0].headers["Host"] == f"hooks.example:{receiver.port}"  # the name is kept
    assert dns.lookups == ["hooks.example"] * 3  # resolved for every connection, by the dispatcher
    second = (await _views(server, tenant, app.sdk_app_id))["second"]
    assert [a.error for a in second.attempts] == ["destination not allowed", ""]


# ------------------------------------------------------------ test callbacks: a pool of their own


async def test_test_callbacks_run_on_a_pool_of_their_own_a_few_per_account(
    server: Server, tenant: Tenant, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SendTestCallback never takes the loop's default pool (long SQLite reads wait there) and
    one account cannot take the whole test pool: its third in flight is RESOURCE_EXHAUSTED."""
    deliveries = server.console.deliveries
    release, started = threading.Event(), threading.Semaphore(0)
    threads: list[str] = []
    real = deliveries.send_test

    def held(caller: Caller, sdk_app_id: int, *, event_group: int) -> SentTest:
        threads.append(threading.current_thread().name)
        started.release()
        assert release.wait(timeout=30)
        return real(caller, sdk_app_id, event_group=event_group)

    monkeypatch.setattr(deliveries, "send_test", held)

    def send(who: Tenant, sdk_app_id: int) -> Any:
        request = config_pb.SendTestCallbackRequest(sdk_app_id=sdk_app_id)
        return who.config.SendTestCallback(request, metadata=who.metadata)

    async def running(count: int) -> None:
        for _ in range(count):
            assert await asyncio.to_thread(started.acquire, timeout=30)

    with Receiver() as receiver:
        app = await tenant.create_app("tested")
        await set_callback(
            server.console.store, app.sdk_app_id, now=clock.now(), room_event_url=receiver.url()
        )
        async with new_tenant(server, "other-account") as other:
            other_app = await other.create_app("tested")
            await set_callback(
                server.console.store, other_app.sdk_app_id, now=clock.now(), room_event_url=receiver.url()
            )
            held_calls = [asyncio.ensure_future(send(tenant, app.sdk_app_id)) for _ in range(2)]
            await running(2)
            failure = await fails(send(tenant, app.sdk_app_id), grpc.StatusCode.RESOURCE_EXHAUSTED)
            info = failure.details["google.rpc.ErrorInfo"]
            assert info.reason == "TEST_CALLBACKS_IN_FLIGHT_QUOTA_EXCEEDED"
            assert dict(info.metadata) == {
                "limit": "2",
                "current": "2",
                "resource": "test_callbacks_in_flight",
            }
            others = asyncio.ensure_future(send(other, other_app.sdk_app_id))  # not held up by the first
            await running(1)
            release.set()
            answers = await asyncio.gather(*held_calls, others)
        again = await send(tenant, app.sdk_app_id)  # the account's slots are free again
    assert [a.status_code for a in [*answers, again]] == [200] * 4
    assert len(receiver.received) == 4
    assert len(threads) == 4 and all(name.startswith(THREAD_PREFIX) for name in threads)


# ------------------------------------------------------------ one deadline, fair slots


@pytest.mark.parametrize("phase", ["headers", "body"])
async def test_a_dripping_receiver_is_cut_at_the_deadline_and_delays_no_other_app(
    server: Server, tenant: Tenant, clock: ManualClock, phase: str
) -> None:
    slow, fast = await tenant.create_app("dripping"), await tenant.create_app("healthy")
    started = clock.now()
    with DripReceiver(phase=phase) as drip, Receiver() as receiver:
        store = server.console.store
        await set_callback(store, slow.sdk_app_id, now=started, room_event_url=drip.url())
        await set_callback(store, fast.sdk_app_id, now=started, room_event_url=receiver.url())
        await report(
            tenant.channel,
            [room_event(f"a{i}", slow.sdk_app_id, at=started, user=f"u{i}") for i in range(2)]
            + [
                room_event(f"b{r}-{i}", fast.sdk_app_id, at=started, room=r, user=f"u{i}")
                for r in (1, 2)
                for i in (1, 2)
            ],
        )
        async with _dispatcher(server, clock, callback_timeout=DRIP_DEADLINE) as dispatcher:
            assert await dispatcher.run_once() == 1 + 4  # the slow head, and all of the healthy app
        test_result = await asyncio.to_thread(
            _test_callbacks(
                server, timeout=DRIP_DEADLINE, destinations=DestinationPolicy(allow_loopback=True)
            ).send_test,
            _caller(tenant),
            slow.sdk_app_id,
            event_group=1,
        )
        assert drip.connections == 2 and drip.finished == 0  # both answers were cut short
    assert sorted(e.event_id for e in receiver.events()) == ["b1-1", "b1-2", "b2-1", "b2-2"]
    healthy = await _views(server, tenant, fast.sdk_app_id)
    assert {v.state for v in healthy.values()} == {"delivered"}
    assert {a.sent_at for v in healthy.values() for a in v.attempts} == {started}  # no time passed
    views = await _views(server, tenant, slow.sdk_app_id)
    [attempt] = views["a0"].attempts
    assert views["a0"].state == "pending" and views["a1"].attempts == ()
    seconds = DRIP_DEADLINE.total_seconds()
    assert attempt.error.startswith(f"timeout after {seconds:g}s")
    if phase == "headers":
        assert attempt.status_code == 0 and attempt.error == f"timeout after {seconds:g}s"
        assert (test_result.status_code, test_result.error) == (0, generic_failure(seconds))
    else:  # the status came, the body did not
        assert attempt.status_code == 200 and test_result.status_code == 200
        assert (
            test_result.error
            == attempt.error
            == f"timeout after {seconds:g}s (HTTP 200 came, the rest of the answer did not)"
        )


async def test_an_app_cannot_take_every_slot_of_a_dispatcher(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    """A's receivers hold their answers until B's three events are delivered: B must get a slot
    while A's POSTs are in flight (without the cap A's four rooms would fill all three slots,
    and A's POSTs would end in timeouts)."""
    busy, other = await tenant.create_app("busy"), await tenant.create_app("other")
    released = threading.Event()
    delivered_b = []

    def hold(_path: str, _event: CallbackEvent) -> tuple[int, float]:
        released.wait(30)
        return 200, 0.0

    def count(_path: str, event: CallbackEvent) -> tuple[int, float]:
        delivered_b.append(event.event_id)
        if len(delivered_b) == 3:
            released.set()
        return 200, 0.0

    with Receiver(respond=hold) as a, Receiver(respond=count) as b:
        store = server.console.store
        await set_callback(store, busy.sdk_app_id, now=clock.now(), room_event_url=a.url())
        await set_callback(store, other.sdk_app_id, now=clock.now(), room_event_url=b.url())
        await report(
            tenant.channel,
            [room_event(f"a{r}", busy.sdk_app_id, at=clock.now(), room=r) for r in range(1, 5)],
        )
        await report(
            tenant.channel,
            [room_event(f"b{i}", other.sdk_app_id, at=clock.now(), user=f"u{i}") for i in range(3)],
        )
        limits = {
            "callback_concurrency": 3,
            "callback_app_concurrency": 2,
            "callback_timeout": timedelta(seconds=20),
        }
        async with _dispatcher(server, clock, **limits) as dispatcher:
            assert await dispatcher.run_once() == 7
    assert delivered_b == ["b0", "b1", "b2"]
    views = await _views(server, tenant, busy.sdk_app_id)
    assert {name: [(x.status_code, x.error) for x in v.attempts] for name, v in views.items()} == {
        f"a{r}": [(200, "")] for r in range(1, 5)
    }


async def test_a_claim_takes_at_most_the_app_limit_and_looks_further_for_other_apps(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    busy, other = await tenant.create_app("busy"), await tenant.create_app("other")
    store = server.console.store
    for app in (busy, other):
        await set_callback(store, app.sdk_app_id, now=clock.now(), room_event_url="http://127.0.0.1:9/x")
    await report(
        tenant.channel, [room_event(f"a{r}", busy.sdk_app_id, at=clock.now(), room=r) for r in range(1, 7)]
    )
    await report(tenant.channel, [room_event("b", other.sdk_app_id, at=clock.now())])
    assert server.dispatcher is not None
    outbox = server.dispatcher.outbox
    first = await asyncio.to_thread(outbox.claim, 3, app_limit=2)  # busy's six rooms are queued first
    assert sorted(c.event_id for c in first) == ["a1", "a2", "b"]
    again = await asyncio.to_thread(outbox.claim, 3, in_flight={busy.sdk_app_id: 2}, app_limit=2)
    assert again == []  # busy is full with what is in flight; nothing else is due
    rest = await asyncio.to_thread(outbox.claim, 10)  # no limit: everything due
    assert sorted(c.event_id for c in rest) == ["a3", "a4", "a5", "a6"]


# ------------------------------------------------------------ never stuck


@pytest.mark.parametrize("breakage", ["body builder raises", "stored EventInfo is corrupt"])
async def test_an_attempt_that_raises_is_a_failed_attempt_with_backoff_and_expiry(
    server: Server,
    tenant: Tenant,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    breakage: str,
) -> None:
    app = await tenant.create_app("broken")
    store = server.console.store
    if breakage == "body builder raises":

        def callback_body(**fields: Any) -> bytes:
            if fields["event_id"] == "bad":
                raise RuntimeError("a bug")
            return real_callback_body(**fields)

        monkeypatch.setattr("rtcconsole_server.domain.callbacks._dispatcher.callback_body", callback_body)
    with Receiver() as receiver:
        await set_callback(store, app.sdk_app_id, now=clock.now(), room_event_url=receiver.url())
        await report(
            tenant.channel,
            [
                room_event("bad", app.sdk_app_id, at=clock.now(), room=1),
                room_event("next", app.sdk_app_id, at=clock.now(), room=1, user="b"),
                room_event("elsewhere", app.sdk_app_id, at=clock.now(), room=2),
            ],
        )
        if breakage == "stored EventInfo is corrupt":

            def corrupt() -> None:
                with store.write() as session:
                    session.execute(
                        update(CallbackDelivery)
                        .where(CallbackDelivery.event_id == "bad")
                        .values(event_info="{no")
                    )

            await asyncio.to_thread(corrupt)
        assert server.dispatcher is not None
        with caplog.at_level(logging.ERROR, "rtcconsole_server.dispatcher"):
            assert await server.dispatcher.run_once() == 2  # the claim itself survives a bad row
        assert "unexpected error" in caplog.text
        views = await _views(server, tenant, app.sdk_app_id)
        bad = views["bad"]
        assert bad.state == "pending" and [(a.status_code, a.error) for a in bad.attempts] == [
            (0, "internal error")
        ]
        assert bad.next_attempt_at is not None
        assert timedelta(seconds=4) <= bad.next_attempt_at - clock.now() <= timedelta(seconds=5)  # backoff
        assert views["next"].attempts == () and views["elsewhere"].state == "delivered"
        clock.advance(seconds=5)
        assert await server.dispatcher.run_once() == 1  # retried, and fails again
        clock.advance(hours=24)
        await server.dispatcher.run_once()  # fails past the retry window: expired, the room moves on
    views = await _views(server, tenant, app.sdk_app_id)
    assert (
        views["bad"].state == "expired" and [a.error for a in views["bad"].attempts] == ["internal error"] * 3
    )
    assert views["next"].state == "delivered"
    assert [e.event_id for e in receiver.events()] == ["elsewhere", "next"]


async def test_a_delivery_whose_outcome_is_never_recorded_expires_after_the_window(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("crashing")
    with Receiver() as receiver:
        await set_callback(
            server.console.store, app.sdk_app_id, now=clock.now(), room_event_url=receiver.url()
        )
        await report(
            tenant.channel,
            [
                room_event("lost", app.sdk_app_id, at=clock.now()),
                room_event("next", app.sdk_app_id, at=clock.now(), user="b"),
            ],
        )
        assert server.dispatcher is not None
        await asyncio.to_thread(server.dispatcher.outbox.claim, 10)  # claimed; its dispatcher "dies"
        clock.advance(hours=24, minutes=1)  # the lease and the retry window are over
        assert await server.dispatcher.run_once() == 1  # "next" only
    views = await _views(server, tenant, app.sdk_app_id)
    assert views["lost"].state == "expired" and views["lost"].attempts == ()
    assert views["next"].state == "delivered"
    assert [e.event_id for e in receiver.events()] == ["next"]


# ------------------------------------------------------------ at configuration time


@pytest.fixture
async def public_only_server(settings: Settings, clock: ManualClock) -> AsyncIterator[Server]:
    """A server with the default destination policy (nothing opened)."""
    built = await build_server(replace(settings, callback_allow_loopback=False), clock=clock)
    await built.start()
    try:
        yield built
    finally:
        await built.stop(0)


async def _set_urls(tenant: Tenant, sdk_app_id: int, **urls: str) -> config_pb.AppConfig:
    request = config_pb.UpdateCallbackConfigRequest(
        sdk_app_id=sdk_app_id, update_mask=FieldMask(paths=list(urls)), **urls
    )
    return (await tenant.config.UpdateCallbackConfig(request, metadata=tenant.metadata)).config


FORBIDDEN_LITERALS = [
    ("http://127.0.0.1:8080/cb", "127.0.0.1 (loopback)"),
    ("http://[::1]/cb", "::1 (loopback)"),
    ("http://[::ffff:127.0.0.1]/cb", "(loopback)"),
    ("http://0.0.0.0/cb", "0.0.0.0 (unspecified)"),
    ("http://2130706433/cb", "127.0.0.1 (loopback)"),
    ("http://0x7f000001/cb", "127.0.0.1 (loopback)"),
    ("http://127.1/cb", "127.0.0.1 (loopback)"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 (link-local)"),
    ("https://10.0.0.5/cb", "10.0.0.5 (private)"),
    ("https://192.168.1.1:8443/cb", "192.168.1.1 (private)"),
    ("http://[fd00::1]/cb", "fd00::1 (private)"),
]


@pytest.mark.parametrize(("url", "said"), FORBIDDEN_LITERALS)
async def test_a_literal_forbidden_address_is_failed_precondition_at_configuration(
    public_only_server: Server, url: str, said: str
) -> None:
    async with new_tenant(public_only_server, "literal") as tenant:
        app = await tenant.create_app("literal")
        failure = await fails(
            _set_urls(tenant, app.sdk_app_id, room_event_url=url), grpc.StatusCode.FAILED_PRECONDITION
        )
        [violation] = failure.details["google.rpc.PreconditionFailure"].violations
        assert (violation.type, violation.subject) == ("CALLBACK_DESTINATION_FORBIDDEN", "room_event_url")
        assert said in violation.description
        config = await tenant.config.GetAppConfig(
            config_pb.GetAppConfigRequest(sdk_app_id=app.sdk_app_id), metadata=tenant.metadata
        )
        assert not config.config.callback.effective.room_event_url  # nothing was set


async def test_names_are_not_resolved_at_configuration_and_both_urls_are_judged(
    public_only_server: Server,
) -> None:
    async with new_tenant(public_only_server, "names") as tenant:
        app = await tenant.create_app("names")
        both = _set_urls(
            tenant, app.sdk_app_id, room_event_url="http://10.1.1.1/r", media_event_url="http://127.0.0.1/m"
        )
        failure = await fails(both, grpc.StatusCode.FAILED_PRECONDITION)
        subjects = [v.subject for v in failure.details["google.rpc.PreconditionFailure"].violations]
        assert subjects == ["room_event_url", "media_event_url"]
        # a name is judged by the dispatcher on what it resolves to, at each connection
        config = await _set_urls(
            tenant,
            app.sdk_app_id,
            room_event_url="http://localhost:8080/r",
            media_event_url="https://8.8.8.8/m",
        )
        assert config.callback.effective.room_event_url == "http://localhost:8080/r"


async def test_what_the_operator_opens_is_accepted_at_configuration(server: Server, tenant: Tenant) -> None:
    # the shared server opens loopback (callback_allow_loopback): loopback is accepted, private is not
    app = await tenant.create_app("opened")
    config = await _set_urls(tenant, app.sdk_app_id, room_event_url="http://127.0.0.1:8080/r")
    assert config.callback.effective.room_event_url == "http://127.0.0.1:8080/r"
    await fails(
        _set_urls(tenant, app.sdk_app_id, room_event_url="http://10.0.0.5/r"),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
