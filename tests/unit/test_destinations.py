"""The callback destination policy (issue 10, §3): which addresses are refused, what the operator opens."""

from __future__ import annotations

import ipaddress

import pytest

from rtcconsole_server import cli
from rtcconsole_server.domain.common import DestinationPolicy, literal_address, parse_networks
from rtcconsole_server.settings import Settings, options

DEFAULT = DestinationPolicy()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: judged as the IPv4 address
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 to 127.0.0.1
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("224.0.1.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("100.64.0.1", "not globally routable"),  # shared address space (carrier-grade NAT)
        ("192.0.2.1", "private"),  # documentation
        ("2001:db8::1", "private"),
        ("2002:7f00:1::", "6to4 to loopback"),
        ("2002:a00:1::", "6to4 to private"),
    ],
)
def test_non_public_addresses_are_refused_by_default(address: str, reason: str) -> None:
    assert DEFAULT.refusal(ipaddress.ip_address(address)) == reason
    assert not DEFAULT.allows(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert DEFAULT.refusal(ipaddress.ip_address(address)) is None


def test_the_operator_opens_exactly_what_it_lists() -> None:
    policy = DestinationPolicy.of(["10.1.0.0/16", "fd00:1::/32", "127.0.0.2/32"])
    allowed = ["10.1.0.1", "10.1.255.255", "::ffff:10.1.2.3", "fd00:1::5", "127.0.0.2"]
    refused = ["10.2.0.1", "fd00:2::1", "127.0.0.1", "192.168.0.1", "169.254.169.254"]
    assert [policy.allows(ipaddress.ip_address(a)) for a in allowed] == [True] * len(allowed)
    assert [policy.allows(ipaddress.ip_address(a)) for a in refused] == [False] * len(refused)


def test_allowing_loopback_opens_loopback_only() -> None:
    policy = DestinationPolicy(allow_loopback=True)
    for address in ("127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"):
        assert policy.allows(ipaddress.ip_address(address)), address
    for address in ("0.0.0.0", "10.0.0.1", "169.254.169.254", "64:ff9b::7f00:1", "2002:7f00:1::"):
        assert not policy.allows(ipaddress.ip_address(address)), address


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("10.0.0.1.", "10.0.0.1"),
        ("0", "0.0.0.0"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("[fe80::1%eth0]", "fe80::1"),
    ],
)
def test_literal_addresses_are_read_in_every_form_a_resolver_accepts(host: str, address: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "host",
    ["example.com", "localhost", "1.2.3.4.5", "999.999.999.999", "08.1.1.1", "256.1", "1.2.3.4x", "[zz]"],
)
def test_names_and_impossible_numbers_are_not_literal_addresses(host: str) -> None:
    assert literal_address(host) is None


def test_networks_are_cidr_without_host_bits() -> None:
    assert [str(n) for n in parse_networks(["10.0.0.0/8", " fd00::/8", "192.0.2.7"])] == [
        "10.0.0.0/8",
        "fd00::/8",
        "192.0.2.7/32",
    ]
    for bad in ("10.0.0.1/8", "10.0.0.0/33", "example.com", ""):
        with pytest.raises(ValueError, match="CIDR"):
            parse_networks([bad])


# ------------------------------------------------------------ the settings


def test_allowed_networks_come_from_the_flag_or_the_comma_separated_variable() -> None:
    _, by_flag = cli.parse(["dispatcher", "--callback-allow-network", "10.1.0.0/16,fd00::/8"], {})
    assert by_flag.callback_allow_networks == ("10.1.0.0/16", "fd00::/8")
    _, by_env = cli.parse(["serve"], {"RTC_CALLBACK_ALLOW_NETWORK": "10.1.0.0/16, 192.168.7.0/24"})
    assert by_env.callback_allow_networks == ("10.1.0.0/16", "192.168.7.0/24")
    _, default = cli.parse(["serve"], {})
    assert default.callback_allow_networks == () and not default.callback_allow_loopback
    _, loopback = cli.parse(["serve", "--callback-allow-loopback"], {})
    assert loopback.callback_allow_loopback


def test_a_bad_network_is_refused_at_start(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.parse(["serve", "--callback-allow-network", "10.0.0.1/8"], {})
    assert "CIDR" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.parse(["serve"], {"RTC_CALLBACK_ALLOW_NETWORK": "not-a-network"})


def test_a_repeated_flag_adds_to_the_list() -> None:
    # what argparse's "append" action hands over: one parsed tuple per occurrence
    [option] = [o for o in options(["serve"]) if o.name == "callback_allow_networks"]
    assert option.repeatable
    given = [option.parse("10.1.0.0/16"), option.parse("fd00::/8,192.168.7.0/24")]
    settings = Settings.resolve(("serve",), {"callback_allow_networks": given}, {})
    assert settings.callback_allow_networks == ("10.1.0.0/16", "fd00::/8", "192.168.7.0/24")
