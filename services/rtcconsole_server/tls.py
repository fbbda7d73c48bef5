"""The gRPC listeners' credentials: plain text, TLS, and mutual TLS for the data plane.

- No ``--tls-cert``/``--tls-key``: plain text (loopback and trusted networks only).
- Both: ``--listen`` is TLS and asks for no client certificate.
- With ``--tls-client-ca`` as well: ``--tls-data-plane-listen`` is a second listener of the same
  services whose handshake *requires* a client certificate signed by that CA, and the data-plane
  RPCs refuse a call without a verified one (``ServicerBase.data_plane``). gRPC Python offers a
  listener that asks for no client certificate or one that requires it, nothing in between, so
  the console (people, without certificates) and the data plane (media servers, with them) each
  get a listener of their own (docs/decisions/0031).

Every file is read and checked here (a PEM chain whose key matches, a CA bundle that parses) so
that a mistake is one :class:`TlsError` at start-up naming the flag, not a failed handshake later.
Nothing here logs or returns key material; :attr:`Listeners.description` is for the log.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc

from rtcconsole_server.settings import Settings

__all__ = ["Listeners", "TlsError", "listeners"]


class TlsError(Exception):
    """A TLS setting that cannot be used; the message names the flag and says what to do."""


@dataclass(frozen=True)
class Listeners:
    """What the gRPC server listens with."""

    console: grpc.ServerCredentials | None
    """The credentials of ``--listen``; ``None`` is plain text."""
    data_plane: grpc.ServerCredentials | None
    """The credentials of ``--tls-data-plane-listen`` (mutual TLS), or ``None``: no such listener."""
    description: str
    """One line for the start-up log: plain text or TLS, and which files (never their contents)."""


def _read(flag: str, path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise TlsError(f"{flag} {path}: cannot read it ({error.strerror or error})") from None
    if b"-----BEGIN " not in data:
        raise TlsError(f"{flag} {path}: not a PEM file (no -----BEGIN line)")
    return data


def _no_password() -> str:
    raise TlsError("encrypted")


def _check_pair(cert: Path, key: Path) -> None:
    """A certificate chain and the unencrypted private key of its first certificate, or TlsError."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key, password=_no_password)
    except TlsError:
        raise TlsError(f"--tls-key {key}: an encrypted private key; give it unencrypted") from None
    except ssl.SSLError as error:
        raise TlsError(
            f"--tls-cert {cert} with --tls-key {key}: not a PEM certificate chain and the private key "
            f"of its first certificate ({error.reason or error})"
        ) from None


def _check_ca(path: Path, data: bytes) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_verify_locations(cadata=data.decode("ascii"))
    except (UnicodeDecodeError, ssl.SSLError) as error:
        reason = getattr(error, "reason", None) or error
        raise TlsError(f"--tls-client-ca {path}: not a PEM bundle of CA certificates ({reason})") from None


def listeners(settings: Settings) -> Listeners:
    """The credentials of ``settings``' listeners; :class:`TlsError` if they cannot be built."""
    cert, key, client_ca = settings.tls_cert, settings.tls_key, settings.tls_client_ca
    data_plane_listen = settings.tls_data_plane_listen
    if (cert is None) != (key is None):
        raise TlsError("--tls-cert and --tls-key go together: pass both for TLS, neither for plain text")
    if cert is None or key is None:
        if client_ca is not None:
            raise TlsError("--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS)")
        if data_plane_listen is not None:
            raise TlsError("--tls-data-plane-listen is the mutual-TLS listener: it needs --tls-cert, "
                           "--tls-key and --tls-client-ca")  # fmt: skip
        return Listeners(None, None, f"gRPC on {settings.listen}: plain text (no --tls-cert)")
    pair = [(_read("--tls-key", key), _read("--tls-cert", cert))]
    _check_pair(cert, key)
    console = grpc.ssl_server_credentials(pair)
    shown = f"gRPC on {settings.listen}: TLS (--tls-cert {cert})"
    if client_ca is None:
        if data_plane_listen is not None:
            raise TlsError(
                "--tls-data-plane-listen needs --tls-client-ca (the CA of the client certificates)"
            )
        return Listeners(console, None, shown)
    if data_plane_listen is None:
        raise TlsError(
            "--tls-client-ca needs --tls-data-plane-listen HOST:PORT: the data plane's listener, where "
            "the handshake requires a client certificate (--listen stays open to callers without one)"
        )
    if data_plane_listen == settings.listen and not settings.listen.endswith(":0"):
        raise TlsError("--tls-data-plane-listen must differ from --listen")
    roots = _read("--tls-client-ca", client_ca)
    _check_ca(client_ca, roots)
    data_plane = grpc.ssl_server_credentials(pair, root_certificates=roots, require_client_auth=True)
    shown += (
        f"; data plane on {data_plane_listen}: mutual TLS, client certificates signed by "
        f"--tls-client-ca {client_ca} (data-plane RPCs refused on {settings.listen})"
    )
    return Listeners(console, data_plane, shown)
