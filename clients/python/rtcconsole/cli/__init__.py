"""``rtcctl``: the command line of rtc-console, over the async client.

Every command accepts ``--target`` (env ``RTC_TARGET``), ``--api-key`` (env
``RTC_API_KEY``, never printed), ``--timeout``, the TLS flags ``--secure`` (env
``RTC_SECURE``), ``--ca FILE`` (``RTC_CA``; implies ``--secure``), ``--client-cert FILE``
and ``--client-key FILE`` (``RTC_CLIENT_CERT``, ``RTC_CLIENT_KEY``: mutual TLS for the
data plane) and ``--json``, before or after the command words. With ``--json`` the response message is
printed as proto-JSON with proto field names (single-resource commands print
the resource, list commands the whole response, lifecycle commands the
Operation).

With ``--json`` every field is printed, also one that holds its default
(``"valid": false``, ``"postpaid": false``, ``"index": "0"``). No flag may be
abbreviated (``--nam`` is not ``--name``). Time flags (``usage … --from/--to``)
take ISO 8601 or relative times (``today``, ``now-1h``, ``+30d``).

Exit status (``rtcctl --help`` lists them too):

- 0: success.
- 1: refused: the server refused the call, it could not be reached, or a local file
  could not be written. stderr has one ``error: <CODE>: <message>`` line and one
  indented line per detail; a server that cannot be reached is one line that names the
  target and what to do (``rtcctl: cannot reach rtc-console at 127.0.0.1:50051
  (connection refused): …``). With ``--json`` it is ``{"error": {"code", "message",
  "details"}}`` on stderr, so stdout only ever holds a response.
- 2: usage: a mistake in the command line (the command's usage and one error line).
- 3: rejected: the command ran, but what it checked or sent was not all good: a
  UserSig or PrivateMapKey that does not verify (``usersig verify``,
  ``privatemapkey verify``; the result is printed as usual), records the server
  rejected.

``rtcctl --version`` prints the version of the installed ``rtcconsole``
distribution; ``rtcctl completion bash|zsh`` prints a completion script
(``source <(rtcctl completion bash)``).

Call it in-process with ``main([...])`` (it runs its own event loop) or
``await amain([...])`` inside a running loop; both return the exit status.
"""

import os as _os
import typing as _typing

if _typing.TYPE_CHECKING:  # at run time _load imports them on first access
    from rtcconsole.cli._main import amain, main

__all__ = ["amain", "main"]


def _load(name: str) -> object:
    """``amain`` or ``main``, imported on first access, so that gRPC's C core is configured first.

    The C core reads ``GRPC_VERBOSITY`` once, when grpc is imported; without it, a failed
    TLS handshake adds a core log line to stderr beside rtcctl's own one-line error. So
    it is ``ERROR`` unless the environment says otherwise (``GRPC_VERBOSITY=DEBUG rtcctl …``).
    """
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    from rtcconsole.cli import _main

    value: object = getattr(_main, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if not _typing.TYPE_CHECKING:
    __getattr__ = _load
