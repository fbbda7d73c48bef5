"""R13, R15: the field rules of function settings, as pure functions."""

from __future__ import annotations

import pytest

from rtcconsole_server.domain.config._rules import (
    CALLBACK_URL_MAX,
    check_callback_key,
    check_callback_url,
    check_choice,
    check_max_idle,
    key_hint,
)

_LONG_PATH = "https://example.com/" + "a" * (CALLBACK_URL_MAX - len("https://example.com/"))


@pytest.mark.parametrize(
    "url",
    [
        "",  # not set
        "http://example.com",
        "https://example.com/cb?x=1&y=%2F",
        "http://callback.example.com:8080/room/events",
        "http://127.0.0.1:9000/",
        "http://[::1]:8443/cb",
        "https://xn--r8jz45g.jp/path",
        "https://under_score.example.com/",
        "HTTPS://EXAMPLE.COM/",
        "http://example.com./",
        _LONG_PATH,  # exactly 2083 characters
    ],
)
def test_r15_good_callback_urls(url: str) -> None:
    assert check_callback_url(url, "room_event_url") == []


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com/cb", "http"),
        ("example.com/cb", "http"),
        ("//example.com/cb", "http"),
        ("mailto:a@example.com", "http"),
        ("http://", "host"),
        ("http:///path", "host"),
        ("http://:8080/", "host"),
        (_LONG_PATH + "b", "2083"),
        ("http://example.com/a b", "spaces"),
        (" http://example.com/", "spaces"),
        ("http://example.com/\t", "spaces"),
        ("http://example.com/\x00", "control"),
        ("http://example.com/\u3000", "spaces"),
        ("http://例え.jp/", "ASCII"),
        ("http://example.com/ä", "ASCII"),
        ("http://example.com/<script>", "percent-encode"),
        ("http://example.com\\@evil.test/", "percent-encode"),
        ("http://example.com/%zz", "hex"),
        ("http://user:pw@example.com/", "user info"),
        ("http://user@example.com/", "user info"),
        ("http://example.com:0/", "port"),
        ("http://example.com:99999/", "port"),
        ("http://example.com:http/", "port"),
        ("http://[::1/", "valid URL"),
        ("http://[nothex]/", "host"),
        ("http://a..b/", "host name"),
        ("http://-a.example.com/", "host name"),
        ("http://" + "a" * 64 + ".com/", "host name"),
        ("http://example.com/#top", "fragment"),
    ],
)
def test_r15_bad_callback_urls_name_the_field_and_the_rule(url: str, says: str) -> None:
    violations = check_callback_url(url, "media_event_url")
    assert len(violations) == 1
    assert violations[0].field == "media_event_url"
    assert says in violations[0].description


@pytest.mark.parametrize("key", ["", "a", "abcXYZ019", "K" * 32])
def test_r15_good_callback_keys(key: str) -> None:
    assert check_callback_key(key) == []


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("K" * 33, "at most 32"),
        ("abc-def", "letters and digits"),
        ("abc def", "letters and digits"),
        ("ключ", "letters and digits"),
        ("ａｂｃ", "letters and digits"),  # full-width letters are not ASCII
        ("x" * 40 + "!", "at most 32"),
    ],
)
def test_r15_bad_callback_keys_never_quote_the_key(key: str, says: str) -> None:
    (violation,) = check_callback_key(key)
    assert violation.field == "key"
    assert says in violation.description
    assert key not in violation.description


def test_r15_key_hint_shows_4_characters_of_keys_of_16_or_more() -> None:
    assert key_hint("") == ""
    assert key_hint("abc1") == ""  # the whole key: never
    assert key_hint("a" * 15) == ""
    assert key_hint("0123456789abcdef") == "cdef"
    assert key_hint("Z" * 28 + "wxyz") == "wxyz"


@pytest.mark.parametrize("seconds", [5, 5.0, 60, 86_400])
def test_r13_max_idle_in_range(seconds: float) -> None:
    assert check_max_idle(seconds) == []


@pytest.mark.parametrize("seconds", [0, 4, 4.999, 5.5, 86_401, -5, float("nan"), float("inf")])
def test_r13_max_idle_out_of_range_or_fractional(seconds: float) -> None:
    (violation,) = check_max_idle(seconds)
    assert violation.field == "settings.max_idle_time"


def test_choices_say_what_is_allowed() -> None:
    assert check_choice("manual", ("manual", "automatic"), "settings.mode") == []
    (missing,) = check_choice("", ("manual", "automatic"), "settings.mode")
    assert "required" in missing.description and "AUTOMATIC" in missing.description
    (unknown,) = check_choice("unknown(9)", ("manual",), "settings.mode")
    assert "not a known value" in unknown.description
