"""``rtc-console``'s flags and variables come from the ``Settings`` fields: parse, precedence, help."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rtcconsole_server import cli
from rtcconsole_server.settings import COMMANDS, Option, Settings, configuration_table, options

README = Path(__file__).resolve().parents[2] / "README.md"
_COMMAND_ARGV = {  # argv of each command up to its flags, and the flags it needs anyway
    "global": ["migrate"],
    "serve": ["serve"],
    "aggregator": ["aggregator"],
    "dispatcher": ["dispatcher"],
    "retention": ["retention"],
    "store": ["migrate"],
}


def _parse(argv: list[str], environ: dict[str, str] | None = None) -> Settings:
    return cli.parse(argv, environ or {})[1]


def _argv(command: str, *flags: str) -> list[str]:
    if command == "global":
        return [*flags, *_COMMAND_ARGV[command]]
    return [*_COMMAND_ARGV[command], *flags]


def _sample(option: Option) -> tuple[str, Any]:
    """A value unlike the default, as text and as the field's value."""
    if option.kind is bool:
        return ("off" if option.default else "on"), not option.default
    if option.kind is timedelta:
        return "12.5", timedelta(seconds=12.5)
    if option.kind is int:
        return "7", 7
    if option.kind is Path:
        return "/tmp/rtc-sample", Path("/tmp/rtc-sample")
    if option.kind is tuple:
        return "10.1.0.0/16,fd00::/8", ("10.1.0.0/16", "fd00::/8")
    if option.name == "log_format":  # a choice, not free text
        return "json", "json"
    if option.name == "metrics_listen":  # checked as HOST:PORT when parsed; a bare port is loopback
        return "9464", "127.0.0.1:9464"
    return f"sample-{option.name}", f"sample-{option.name}"


# ------------------------------------------------------------ each command


def test_serve_builds_its_settings_from_flags() -> None:
    settings = _parse(
        ["--log-level", "DEBUG", "serve", "--listen", "0.0.0.0:6000", "--database-url", "sqlite:///x.db",
         "--redis-url", "redis://h/1", "--data-plane-token", "tok", "--no-workers", "--no-aggregator",
         "--operation-delay-seconds", "240", "--config-delay-seconds", "60",
         "--push-domain-suffix", "push.example", "--aggregation-interval-seconds", "0.1",
         "--aggregation-watermark-seconds", "30", "--aggregation-batch-windows", "7",
         "--callback-timeout-seconds", "1", "--callback-lease-seconds", "2",
         "--callback-poll-interval-seconds", "0.05", "--callback-concurrency", "4", "--grace-seconds", "3"]
    )  # fmt: skip
    assert settings == Settings(
        log_level="DEBUG",
        listen="0.0.0.0:6000",
        database_url="sqlite:///x.db",
        redis_url="redis://h/1",
        data_plane_token="tok",
        run_workers=False,
        run_aggregator=False,
        operation_delay=timedelta(minutes=4),
        config_delay=timedelta(minutes=1),
        push_domain_suffix="push.example",
        aggregation_interval=timedelta(seconds=0.1),
        aggregation_watermark=timedelta(seconds=30),
        aggregation_batch=7,
        callback_timeout=timedelta(seconds=1),
        callback_lease=timedelta(seconds=2),
        callback_poll_interval=timedelta(seconds=0.05),
        callback_concurrency=4,
        grace=timedelta(seconds=3),
    )


def test_aggregator_has_the_same_flag_names_as_serve() -> None:
    args, settings = cli.parse(
        ["aggregator", "--once", "--database-url", "sqlite:///a.db", "--aggregation-interval-seconds", "0.2",
         "--aggregation-watermark-seconds", "60", "--aggregation-batch-windows", "40", "--no-migrate"],
        {},
    )  # fmt: skip
    assert args.once
    assert settings == Settings(
        database_url="sqlite:///a.db",
        aggregation_interval=timedelta(seconds=0.2),
        aggregation_watermark=timedelta(minutes=1),
        aggregation_batch=40,
        migrate=False,
    )


def test_dispatcher_builds_its_settings_from_flags() -> None:
    settings = _parse(
        ["dispatcher", "--database-url", "sqlite:///d.db", "--callback-timeout-seconds", "1",
         "--callback-retry-window-seconds", "3600", "--callback-backoff-cap-seconds", "30",
         "--callback-concurrency", "4", "--grace-seconds", "0"]
    )  # fmt: skip
    assert settings == Settings(
        database_url="sqlite:///d.db",
        callback_timeout=timedelta(seconds=1),
        callback_retry_window=timedelta(hours=1),
        callback_backoff_cap=timedelta(seconds=30),
        callback_concurrency=4,
        grace=timedelta(0),
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["migrate"],
        ["admin", "account", "create", "acme"],
        ["admin", "account", "billing", "acme", "--postpaid", "on"],
        ["admin", "account", "services", "acme", "--css", "on"],
        ["admin", "account", "package", "list", "acme"],
        ["admin", "account", "package", "add", "acme", "--minutes", "1", "--from", "2026-01-01",
         "--to", "2026-02-01"],
    ],
)  # fmt: skip
def test_store_commands_take_the_store_settings(argv: list[str], tmp_path: Path) -> None:
    assert _parse([*argv, "--database-url", "sqlite:///s.db"]).database_url == "sqlite:///s.db"
    by_dir = _parse([*argv, "--data-dir", str(tmp_path)])
    assert by_dir.database_url == f"sqlite:///{tmp_path / 'rtc-console.db'}"
    assert _parse(argv, {"RTC_DATA_DIR": str(tmp_path)}).database_url == by_dir.database_url


def test_without_flags_or_variables_every_command_gets_the_defaults() -> None:
    for argv in (["serve"], ["aggregator"], ["dispatcher"], ["migrate"]):
        assert _parse(argv) == Settings()
    home = Path.home()
    assert Settings().database_url == f"sqlite:///{home / '.local/share/rtc-console/rtc-console.db'}"


def test_the_data_dir_expands_the_home_directory() -> None:
    settings = _parse(["migrate", "--data-dir", "~/rtc-elsewhere"])
    assert settings.data_dir == Path.home() / "rtc-elsewhere"
    assert settings.database_url == f"sqlite:///{Path.home() / 'rtc-elsewhere' / 'rtc-console.db'}"


# ------------------------------------------------------------ precedence


def test_flag_wins_over_variable_and_variable_over_default() -> None:
    environ = {"RTC_LISTEN": "10.0.0.1:1", "RTC_AGGREGATION_INTERVAL_SECONDS": "60", "RTC_WORKERS": "off"}
    from_env = _parse(["serve"], environ)
    assert from_env.listen == "10.0.0.1:1"
    assert from_env.aggregation_interval == timedelta(minutes=1) and not from_env.run_workers
    flagged = _parse(
        ["serve", "--listen", "10.0.0.2:2", "--aggregation-interval-seconds", "5", "--workers"], environ
    )
    assert flagged.listen == "10.0.0.2:2"
    assert flagged.aggregation_interval == timedelta(seconds=5) and flagged.run_workers
    assert _parse(["serve"]).listen == Settings().listen == "127.0.0.1:50051"


def test_an_empty_variable_counts_as_unset() -> None:
    assert _parse(["serve"], {"RTC_LISTEN": "", "RTC_DATABASE_URL": ""}) == Settings()


def test_the_database_url_wins_over_the_data_dir(tmp_path: Path) -> None:
    environ = {"RTC_DATABASE_URL": "sqlite:///env.db", "RTC_DATA_DIR": str(tmp_path)}
    assert _parse(["migrate"], environ).database_url == "sqlite:///env.db"
    assert (
        _parse(["migrate", "--database-url", "sqlite:///flag.db"], environ).database_url
        == "sqlite:///flag.db"
    )


def test_a_variable_of_another_command_is_ignored() -> None:
    assert _parse(["aggregator"], {"RTC_LISTEN": "10.0.0.1:1", "RTC_CALLBACK_CONCURRENCY": "x"}) == Settings()


@pytest.mark.parametrize("word", ["on", "ON", "1", "true", "yes", "off", "0", "False", "no"])
def test_switch_variables_take_on_and_off(word: str) -> None:
    expected = word.lower() in ("on", "1", "true", "yes")
    assert _parse(["serve"], {"RTC_AGGREGATOR": word}).run_aggregator is expected


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"RTC_GRACE_SECONDS": "soon"}, "RTC_GRACE_SECONDS"),
        ({"RTC_CALLBACK_CONCURRENCY": "0"}, "RTC_CALLBACK_CONCURRENCY"),
        ({"RTC_WORKERS": "maybe"}, "RTC_WORKERS"),
        ({"RTC_OPERATION_DELAY_SECONDS": "-1"}, "RTC_OPERATION_DELAY_SECONDS"),
    ],
)
def test_a_bad_variable_is_a_usage_error_naming_it(
    environ: dict[str, str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.parse(["serve"], environ)
    assert exit_.value.code == 2 and named in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--grace-seconds", "soon"],
        ["aggregator", "--aggregation-batch-windows", "0"],
        ["dispatcher", "--callback-timeout-seconds", "nan"],
        ["aggregator", "--listen", "127.0.0.1:1"],  # not a setting of this command
    ],
)
def test_a_bad_flag_is_a_usage_error(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.parse(argv, {})
    assert exit_.value.code == 2


# ------------------------------------------------------------ old names


def test_old_flag_names_still_work_hidden_and_flagged_deprecated(capsys: pytest.CaptureFixture[str]) -> None:
    args, settings = cli.parse(
        ["aggregator", "--interval-seconds", "0.2", "--watermark-seconds", "9", "--batch-windows", "5"], {}
    )
    assert settings.aggregation_interval == timedelta(seconds=0.2)
    assert settings.aggregation_watermark == timedelta(seconds=9) and settings.aggregation_batch == 5
    assert ("--interval-seconds", "--aggregation-interval-seconds") in args.deprecated_flags
    for command in ("serve", "dispatcher"):
        args, settings = cli.parse(
            [command, "--callback-poll-seconds", "0.05", "--callback-retry-window-hours", "2"], {}
        )
        assert settings.callback_poll_interval == timedelta(seconds=0.05)
        assert settings.callback_retry_window == timedelta(hours=2)
        assert len(args.deprecated_flags) == 2
    with pytest.raises(SystemExit):
        cli.parse(["aggregator", "--help"], {})
    shown = capsys.readouterr().out
    assert "--aggregation-interval-seconds" in shown and "--interval-seconds" not in shown


def test_main_warns_about_an_old_flag_name(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    assert cli.main(["aggregator", "--once", "--database-url", url, "--batch-windows", "3"]) == 0
    assert "--batch-windows is deprecated; use --aggregation-batch-windows" in caplog.text


# ------------------------------------------------------------ one source


def test_every_setting_is_reachable_by_flag_and_variable_in_each_of_its_commands() -> None:
    seen = set()
    for option in options():
        for command in option.commands:
            text, value = _sample(option)
            if option.kind is bool:
                flag = option.flag if value else f"--no-{option.flag[2:]}"
                by_flag = _parse(_argv(command, flag))
            else:
                by_flag = _parse(_argv(command, option.flag, text))
            assert getattr(by_flag, option.name) == value, (option.name, command)
            by_env = _parse(_argv(command), {option.env: text})
            assert getattr(by_env, option.name) == value, (option.name, command)
            seen.add(option.name)
    assert seen == {f.name for f in fields(Settings)}


def test_every_field_declares_a_flag_variable_help_and_commands() -> None:
    for f in fields(Settings):
        meta = f.metadata
        assert meta["flag"].startswith("--") and meta["help"], f.name
        assert meta["env"] == "RTC_" + meta["flag"][2:].upper().replace("-", "_"), f.name
        assert set(meta["commands"]) <= set(COMMANDS) and meta["commands"], f.name
        assert "|" not in meta["help"], f"{f.name}: the help goes into a Markdown table"
    for option in options():
        assert option.flag.endswith("-seconds") == (option.kind is timedelta), option.name
    assert len({o.flag for o in options()}) == len(options()), "one flag per setting"


def test_help_text_comes_from_the_fields(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "10000")  # argparse wraps at hyphens otherwise
    for command in ("serve", "aggregator", "dispatcher", "store"):
        with pytest.raises(SystemExit):
            cli.parse([*_COMMAND_ARGV[command], "--help"], {})
        shown = capsys.readouterr().out
        for option in options([command]):
            if "global" in option.commands:
                continue
            assert option.help in shown, (command, option.name)
            assert f"env {option.env}" in shown and f"default: {option.shown}" in shown, option.name


def test_the_readme_configuration_table_is_generated_from_the_settings() -> None:
    text = README.read_text()
    section = text[text.index("## Configuration") :].split("\n## ")[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    assert table == configuration_table(), (
        "README's Configuration table is out of date; regenerate it with "
        "`python -m rtcconsole_server.settings`:\n" + configuration_table()
    )
