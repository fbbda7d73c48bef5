"""rtcctl's command line without a server: option placement, environment, KEY=VALUE, usage errors."""

from __future__ import annotations

import argparse

import pytest

from rtcconsole.cli import amain
from rtcconsole.cli._framework import key_value, uint64
from rtcconsole.cli._main import build_parser


def parse(*argv: str, environ: dict[str, str] | None = None) -> argparse.Namespace:
    return build_parser(environ or {}).parse_args(list(argv))


@pytest.mark.parametrize(
    "argv",
    [
        ["--json", "apps", "get", "1400000001"],
        ["apps", "--json", "get", "1400000001"],
        ["apps", "get", "1400000001", "--json"],
        ["apps", "get", "--json", "1400000001"],
    ],
)
def test_json_is_accepted_anywhere(argv: list[str]) -> None:
    args = parse(*argv)
    assert args.json is True
    assert args.sdk_app_id == 1400000001


def test_json_is_off_by_default() -> None:
    assert parse("apps", "get", "1").json is False


def test_target_and_key_come_from_the_environment_then_the_flags() -> None:
    assert parse("ops", "list").target == "127.0.0.1:50051"
    assert parse("ops", "list").api_key is None
    environ = {"RTC_TARGET": "console:443", "RTC_API_KEY": "rtc_env"}
    args = parse("ops", "list", environ=environ)
    assert (args.target, args.api_key) == ("console:443", "rtc_env")
    args = parse("ops", "list", "--target", "other:1", "--api-key", "rtc_flag", environ=environ)
    assert (args.target, args.api_key) == ("other:1", "rtc_flag")
    args = parse("--target", "before:1", "ops", "list", environ=environ)
    assert args.target == "before:1"


def test_global_options_after_the_command_override_those_before() -> None:
    args = parse("--timeout", "5", "apps", "list", "--timeout", "7")
    assert args.timeout == 7.0


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("team=live", ("team", "live")),
        ("a=b=c", ("a", "b=c")),
        ("k=", ("k", "")),
        ("部门=直播", ("部门", "直播")),
    ],
)
def test_key_value(text: str, pair: tuple[str, str]) -> None:
    assert key_value(text) == pair


@pytest.mark.parametrize("text", ["team", "=live", ""])
def test_key_value_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        key_value(text)


def test_ids_are_positive_uint64() -> None:
    assert uint64("18446744073709551615") == 2**64 - 1
    for text in ("0", "-1", "18446744073709551616", "abc", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            uint64(text)


def test_tags_repeat_and_extend() -> None:
    args = parse("apps", "list", "--tag", "a=1", "b=2", "--tag", "c=3")
    assert args.tags == [("a", "1"), ("b", "2"), ("c", "3")]
    assert parse("apps", "list").tags == []


def test_attach_takes_several_pairs() -> None:
    args = parse("tags", "attach", "1400000001", "team=live", "env=prod")
    assert args.sdk_app_id == 1400000001
    assert args.tags == [("team", "live"), ("env", "prod")]


def test_update_keeps_absent_and_empty_apart() -> None:
    args = parse("apps", "update", "1", "--description", "")
    assert (args.name, args.description) == (None, "")


def test_lifecycle_commands_take_a_code_or_a_token() -> None:
    assert parse("apps", "disable", "1", "--totp", "123456").totp == "123456"
    args = parse("apps", "delete", "1", "--secondary-auth-token", "tok")
    assert (args.totp, args.secondary_auth_token) == (None, "tok")


def test_every_brief_command_parses() -> None:
    commands = [
        ["apps", "create", "--name", "n", "--description", "d", "--request-id", "r"],
        ["apps", "list", "--name-contains", "x", "--sdk-app-id", "1", "--page-size", "5", "--page-token=t"],
        ["apps", "list", "--all"],
        ["apps", "secret-key", "1"],
        ["apps", "enable", "1", "--totp", "123456"],
        ["apps", "enable", "1"],
        ["ops", "get", "operations/1"],
        ["ops", "list", "--sdk-app-id", "1", "--pending"],
        ["auth", "whoami"],
        ["auth", "totp-enroll", "--totp", "123456"],
        ["auth", "secondary", "--totp", "123456"],
        ["auth", "keys", "create", "--display-name", "ci"],
        ["auth", "keys", "list"],
        ["auth", "keys", "delete", "key_1"],
        ["tags", "create", "team", "live"],
        ["tags", "list", "--key", "team"],
        ["tags", "delete", "team", "live"],
        ["tags", "detach", "1", "team=live"],
        ["materials", "add", "1", "bg.png", "--name", "bg", "--x", "1", "--y", "2"],
        ["materials", "list", "1"],
        ["materials", "get", "1", "2", "--output", "out.png"],
        ["materials", "remove", "1", "2"],
    ]
    for argv in commands:
        assert callable(parse(*argv, "--json").handler), argv


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["apps"],
        ["apps", "get", "abc"],
        ["apps", "get"],
        ["apps", "disable", "1", "--totp", "12345"],
        ["apps", "disable", "1", "--totp", "123456", "--secondary-auth-token", "t"],
        ["apps", "create"],
        ["tags", "attach", "1", "team"],
        ["materials", "add", "1", "f.png", "--x", "-1"],
        ["nonsense"],
    ],
)
async def test_argparse_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert await amain(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "usage: rtcctl" in err


async def test_update_without_fields_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert await amain(["--api-key", "k", "apps", "update", "1"]) == 2
    assert "nothing to update" in capsys.readouterr().err


async def test_a_missing_api_key_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RTC_API_KEY", raising=False)
    assert await amain(["apps", "get", "1"]) == 2
    assert "no API key" in capsys.readouterr().err


async def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert await amain(["apps", "list", "--help"]) == 0
    assert "--name-contains" in capsys.readouterr().out


async def test_a_malformed_api_key_is_a_usage_error_that_does_not_echo_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await amain(["--api-key", "two words", "apps", "get", "1"]) == 2
    err = capsys.readouterr().err
    assert "api_key" in err and "two words" not in err
