"""The TLS flags of ``rtcctl`` and ``rtc-console simulate``: ``--secure``, ``--ca``,
``--client-cert``, ``--client-key``, each also from the environment.

This module does not import grpc (``rtc-console --help`` stays quick): :func:`add_tls_options`
adds the flags, :func:`tls_arguments` reads the files into the keyword arguments of
``RtcConsole.connect`` / ``IngestClient.connect``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict

__all__ = ["SECURE_WORDS", "TlsArguments", "TlsFileError", "add_tls_options", "tls_arguments"]

SECURE_WORDS = {
    **dict.fromkeys(("1", "true", "yes", "on"), True),
    **dict.fromkeys(("0", "false", "no", "off"), False),
}
"""What ``RTC_SECURE`` may say (case-insensitive; empty counts as unset)."""


class TlsFileError(ValueError):
    """A TLS flag or variable that cannot be used: a file that cannot be read or is not PEM."""


class TlsArguments(TypedDict):
    """The TLS keyword arguments of ``RtcConsole.connect`` and ``IngestClient.connect``."""

    secure: bool
    root_certificates: bytes | None
    certificate_chain: bytes | None
    private_key: bytes | None


class _ImpliesSecure(argparse.Action):
    """Store the path and turn on ``--secure`` (a CA or a client certificate means TLS)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        namespace.secure = True


def add_tls_options(parser: argparse.ArgumentParser, environ: Mapping[str, str] | None) -> None:
    """Add the TLS flags to ``parser``; their defaults come from ``environ`` (``None``: the flags
    of an ``rtcctl`` command parser, ``SUPPRESS``-ed so that they only override the top level's)."""
    env = environ or {}
    ca, cert = env.get("RTC_CA") or None, env.get("RTC_CLIENT_CERT") or None
    word = (env.get("RTC_SECURE") or "").strip().lower()
    secure = SECURE_WORDS.get(word, False) or ca is not None or cert is not None

    def default(value: object) -> object:
        return argparse.SUPPRESS if environ is None else value

    parser.add_argument(
        "--secure",
        action="store_true",
        default=default(secure),
        help="use TLS, checking the server's certificate against the system roots (env RTC_SECURE=1)",
    )
    parser.add_argument(
        "--ca",
        action=_ImpliesSecure,
        default=default(ca),
        metavar="FILE",
        help="PEM CA bundle to check the server's certificate against instead; implies --secure (env RTC_CA)",
    )
    parser.add_argument(
        "--client-cert",
        action=_ImpliesSecure,
        default=default(cert),
        metavar="FILE",
        help="PEM client certificate chain for mutual TLS, which the data plane of a server with "
        "--tls-client-ca needs; with --client-key; implies --secure (env RTC_CLIENT_CERT)",
    )
    parser.add_argument(
        "--client-key",
        default=default(env.get("RTC_CLIENT_KEY") or None),
        metavar="FILE",
        help="PEM private key of --client-cert (env RTC_CLIENT_KEY); its contents are never printed",
    )
    if environ is not None:
        parser.set_defaults(secure_word=word)


def _pem(flag: str, path: str, marker: bytes) -> bytes:
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as error:
        raise TlsFileError(f"cannot read {flag} {path}: {error.strerror or error}") from None
    if marker not in data:
        raise TlsFileError(f"{flag} {path} is not a PEM file (no -----BEGIN …{marker.decode()} line)")
    return data


def tls_arguments(args: argparse.Namespace) -> TlsArguments:
    """The TLS keyword arguments that ``args`` ask for; :class:`TlsFileError` for a flag or
    variable that cannot be used (its message names it, never a key's contents)."""
    word = getattr(args, "secure_word", "")
    if word and word not in SECURE_WORDS:
        raise TlsFileError(f"RTC_SECURE takes 1|0, true|false, yes|no or on|off, got {word!r}")
    ca: str | None = args.ca
    cert: str | None = args.client_cert
    key: str | None = args.client_key
    if (cert is None) != (key is None):
        raise TlsFileError("--client-cert and --client-key go together (RTC_CLIENT_CERT, RTC_CLIENT_KEY)")
    return TlsArguments(
        secure=bool(args.secure) or ca is not None or cert is not None,
        root_certificates=None if ca is None else _pem("--ca", ca, b"CERTIFICATE-----"),
        certificate_chain=None if cert is None else _pem("--client-cert", cert, b"CERTIFICATE-----"),
        private_key=None if key is None else _pem("--client-key", key, b"PRIVATE KEY-----"),
    )
