"""``--log-format json``: one object per line with the record's call fields; text unchanged.

The formatter on records as the interceptor and the error table make them (their ``extra``
fields), the INTERNAL error line through ``to_status`` itself, and ``rtc-console --log-format
json`` parsed flag to setting.
"""

from __future__ import annotations

import json
import logging
import re

import pytest

from rtcconsole_server.api.errors import to_status
from rtcconsole_server.cli import parse
from rtcconsole_server.observability import EXTRA_FIELDS, TEXT_FORMAT, JsonFormatter

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("rtcconsole_server.rpc", logging.DEBUG, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_a_call_line_carries_method_code_and_duration() -> None:
    fields = {"method": "/rtcconsole.v1.AppService/GetApp", "code": "OK", "duration_ms": 1.234}
    record = _record("%s took %.1f ms", fields["method"], 1.234, **fields)
    record.created = 1_772_352_000.25  # 2026-03-01T08:00:00.250Z
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2026-03-01T08:00:00.250Z",
        "level": "DEBUG",
        "logger": "rtcconsole_server.rpc",
        "message": "/rtcconsole.v1.AppService/GetApp took 1.2 ms",
        **fields,
    }


def test_only_the_listed_extra_fields_are_written() -> None:
    record = _record("hello", metadata=[("authorization", "Bearer secret")], api_key="k", code="OK")
    written = json.loads(JsonFormatter().format(record))
    assert set(written) == {"time", "level", "logger", "message", "code"}
    assert "secret" not in JsonFormatter().format(record)
    assert EXTRA_FIELDS == ("correlation_id", "method", "code", "duration_ms")


def test_the_internal_error_line_has_its_correlation_id(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="rtcconsole_server.rpc"):
        try:
            raise ZeroDivisionError("a bug")
        except ZeroDivisionError as bug:
            status = to_status(bug, "/rtcconsole.v1.AppService/GetApp")
    (record,) = caplog.records
    line = json.loads(JsonFormatter().format(record))
    correlation_id = line["correlation_id"]
    assert correlation_id in status.details and re.fullmatch(r"[0-9a-f]{32}", correlation_id)
    assert (line["level"], line["method"], line["code"]) == (
        "ERROR",
        "/rtcconsole.v1.AppService/GetApp",
        "INTERNAL",
    )
    assert line["message"] == f"/rtcconsole.v1.AppService/GetApp failed; correlation id {correlation_id}"
    assert line["exception"].startswith("Traceback (most recent call last)")
    assert line["exception"].endswith("ZeroDivisionError: a bug")
    assert ISO_UTC.match(line["time"])


def test_non_ascii_and_quotes_stay_one_valid_line() -> None:
    line = JsonFormatter().format(_record('room "会议室"\nnext line'))
    assert "\n" not in line and json.loads(line)["message"] == 'room "会议室"\nnext line'


def test_the_text_format_is_the_one_operators_know() -> None:
    record = _record("%s took %.1f ms", "/m", 1.25)
    text = logging.Formatter(TEXT_FORMAT).format(record)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} DEBUG rtcconsole_server.rpc: /m took 1.2 ms", text
    )


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["serve"], {}, "text"),
        (["--log-format", "json", "serve"], {}, "json"),
        (["--log-format", "JSON", "migrate"], {}, "json"),
        (["serve"], {"RTC_LOG_FORMAT": "json"}, "json"),
    ],
)
def test_the_flag_and_its_variable(argv: list[str], environ: dict[str, str], expected: str) -> None:
    _, settings = parse(argv, environ)
    assert settings.log_format == expected


def test_an_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(["--log-format", "xml", "serve"], {})
    assert exited.value.code == 2
    assert "--log-format" in capsys.readouterr().err
