"""Where the HTTP door listens (decision 0030): on 127.0.0.1:8080 in the embedded mode, off in a
scaled one, and whatever ``--http-listen`` says when it is given."""

from __future__ import annotations

import pytest

from rtcconsole_server.settings import EMBEDDED_HTTP_LISTEN, Settings, http_listen_address

SQLITE = "sqlite:////tmp/rtc.db"
POSTGRES = "postgresql+psycopg://rtc:pw@127.0.0.1/rtc"


@pytest.mark.parametrize(
    ("given", "database_url", "redis_url", "expected"),
    [
        (None, SQLITE, None, EMBEDDED_HTTP_LISTEN),  # `make serve`: the door (and the web console) is on
        (None, POSTGRES, None, None),  # a scaled deployment names its address
        (None, SQLITE, "redis://127.0.0.1:6379/0", None),  # replicas sharing live state: scaled too
        ("off", SQLITE, None, None),
        ("127.0.0.1:0", POSTGRES, "redis://127.0.0.1:6379/0", "127.0.0.1:0"),
    ],
)
def test_the_door_is_on_when_embedded_or_named(
    given: str | None, database_url: str, redis_url: str | None, expected: str | None
) -> None:
    settings = Settings(http_listen=given, database_url=database_url, redis_url=redis_url)
    assert settings.http_address == expected
    assert EMBEDDED_HTTP_LISTEN == "127.0.0.1:8080"


def test_the_flag_takes_off_or_an_address_a_bare_port_on_loopback() -> None:
    assert http_listen_address("off") == http_listen_address(" OFF ") == "off"
    assert http_listen_address("8081") == "127.0.0.1:8081"
    assert http_listen_address("0.0.0.0:8081") == "0.0.0.0:8081"
