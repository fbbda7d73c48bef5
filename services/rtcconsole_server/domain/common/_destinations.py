"""Where the server may send HTTP requests for tenants (callbacks): the destination policy.

Pure: it judges IP addresses, it never resolves a name. The callback dispatcher
and test callbacks ask it about every address a host name *resolved to*, at the
moment they connect (so a name that later resolves elsewhere is caught); the
config context asks it at configuration time about hosts that are literal
addresses (:func:`literal_address`, which reads the forms the system resolver
accepts too: ``2130706433``, ``0x7f000001``, ``127.1``, ``0177.0.0.1``).

By default only globally routable unicast addresses are allowed: loopback,
private, link-local, multicast, reserved, unspecified and other special-purpose
ranges (shared address space ``100.64.0.0/10``, documentation, benchmarking, …)
are refused, for IPv4 and IPv6 alike. An IPv4-mapped (``::ffff:127.0.0.1``) or
NAT64 (``64:ff9b::/96``) IPv6 address is judged as the IPv4 address it carries,
and a 6to4 address (``2002::/16``) is refused when the IPv4 address it embeds is.
The operator opens exactly what it lists (``allowed_networks``) and, for
development, loopback (``allow_loopback``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DestinationPolicy", "IPAddress", "IPNetwork", "literal_address", "parse_networks"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_NUMERIC_PART = r"(?:0[xX][0-9a-fA-F]+|[0-9]+)"
_NUMERIC_HOST = re.compile(rf"{_NUMERIC_PART}(?:\.{_NUMERIC_PART}){{0,3}}")


def parse_networks(texts: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Networks in CIDR notation (``10.0.0.0/8``, ``fd00::/8``; a bare address is a /32 or
    /128). Raises ``ValueError`` for anything else, host bits set included (``10.0.0.1/8``)."""
    networks = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=True))
        except ValueError as error:
            raise ValueError(f"not a network in CIDR notation: {text!r} ({error})") from None
    return tuple(networks)


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` names without DNS, or None for a host name.

    Reads IPv6 (with or without brackets, a ``%zone`` dropped), dotted-quad IPv4, and
    the other forms of ``inet_aton`` that resolvers accept: one to four parts, each
    decimal, octal (leading ``0``) or hexadecimal (``0x``), the last filling the rest
    (``127.1`` is 127.0.0.1, ``2130706433`` and ``0x7f000001`` too). A numeric form out
    of range is None (no resolver reads it as an address either).
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return None
    text = text.removesuffix(".")
    if not _NUMERIC_HOST.fullmatch(text):
        return None
    values = [_number(part) for part in text.split(".")]
    *leading, last = values
    if any(v > 0xFF for v in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    value = last
    for index, byte in enumerate(leading):
        value |= byte << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _number(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:], 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8) if all(c in "01234567" for c in part) else 1 << 32  # out of range
    return int(part, 10)


def _carried(address: IPAddress) -> IPAddress:
    """The address a connection to ``address`` reaches: the IPv4 address inside an
    IPv4-mapped or NAT64 address, else ``address`` itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address


def _category(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast destination, or None when it is one."""
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "not globally routable"
    return None


@dataclass(frozen=True)
class DestinationPolicy:
    """Which addresses callbacks may connect to: public unicast ones, plus what the operator opens."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    """Opened on top of the default (``--callback-allow-network``), exactly as listed."""
    allow_loopback: bool = False
    """Open 127.0.0.0/8 and ::1 (``--callback-allow-loopback``): development and tests only."""

    @classmethod
    def of(cls, networks: Iterable[str] = (), *, allow_loopback: bool = False) -> DestinationPolicy:
        """The policy for networks in CIDR notation (see :func:`parse_networks`)."""
        return cls(parse_networks(networks), allow_loopback)

    def _listed(self, address: IPAddress) -> bool:
        return any(address in net for net in self.allowed_networks if net.version == address.version)

    def refusal(self, address: IPAddress) -> str | None:
        """None when callbacks may connect to ``address``; else why not, for logs and
        messages: "loopback", "private", "link-local", "multicast", "reserved",
        "unspecified", "not globally routable" or "6to4 to <category>"."""
        carried = _carried(address)
        if self._listed(address) or self._listed(carried):
            return None
        category = _category(carried)
        if category is None and isinstance(carried, ipaddress.IPv6Address) and carried in _SIX_TO_FOUR:
            embedded = carried.sixtofour
            inner = _category(embedded) if embedded is not None and not self._listed(embedded) else None
            category = f"6to4 to {inner}" if inner else None
        if category == "loopback" and self.allow_loopback and address not in _NAT64:
            return None
        return category

    def allows(self, address: IPAddress) -> bool:
        """Whether callbacks may connect to ``address``."""
        return self.refusal(address) is None
