"""``rtcctl``: the command line of rtc-console, over the async client.

Every command accepts ``--target`` (env ``RTC_TARGET``), ``--api-key`` (env
``RTC_API_KEY``, never printed), ``--timeout``, ``--secure`` and ``--json``,
before or after the command words. With ``--json`` the response message is
printed as proto-JSON with proto field names (single-resource commands print
the resource, list commands the whole response, lifecycle commands the
Operation).

Exit status: 0 on success; 1 when the server refuses the call, with
``error: <CODE>: <message>`` and one line per detail on stderr (with ``--json``:
``{"error": {"code", "message", "details"}}`` on stderr, so stdout only ever
holds a response); 2 for a usage error.

Call it in-process with ``main([...])`` (it runs its own event loop) or
``await amain([...])`` inside a running loop; both return the exit status.
"""

from rtcconsole.cli._main import amain, main

__all__ = ["amain", "main"]
