"""TLS end to end: a real ``rtc-console serve --tls-cert … --tls-key …`` and the real ``rtcctl``.

Certificates come from a throwaway ``trustme`` CA written to the test's directory.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import trustme

from tests.e2e.processes import BIN, create_account, run_cli, serving
from tests.support import free_port

TOKEN = "dp-tls-token"  # a test's own data-plane token


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    """``ca.pem``, ``server.pem``/``server.key`` and ``client.pem``/``client.key`` in a directory."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    for name, issued in (
        ("server", ca.issue_cert("localhost", "127.0.0.1")),
        ("client", ca.issue_cert("media-1.example", common_name="media-1")),
    ):
        issued.private_key_pem.write_to_path(str(tmp_path / f"{name}.key"))
        (tmp_path / f"{name}.pem").write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    return tmp_path


def rtcctl(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``rtcctl``; RTC_* variables of this process are not passed on."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RTC_")}
    return subprocess.run(
        [str(BIN / "rtcctl"), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**clean, **(env or {})},
    )


def test_rtcctl_over_tls_with_the_ca_and_what_it_says_without(pki: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    _, key = create_account(url, "acme")
    tls = ("--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"))
    with serving(url, *tls, log=tmp_path / "serve.log") as (_, target):
        base = ("--target", target, "--api-key", key)
        created = rtcctl(*base, "--ca", str(pki / "ca.pem"), "apps", "create", "--name", "tls_demo")
        assert created.returncode == 0, created.stderr
        listed = rtcctl(*base, "apps", "list", env={"RTC_CA": str(pki / "ca.pem")})
        assert (listed.returncode, listed.stderr) == (0, ""), listed.stderr
        assert "tls_demo" in listed.stdout

        untrusted = rtcctl(*base, "--secure", "apps", "list")
        assert untrusted.returncode == 1
        assert untrusted.stderr.splitlines() == [
            f"rtcctl: cannot reach rtc-console at {target} (the server's certificate is not trusted): "
            "pass the CA that signed it with --ca FILE (or RTC_CA)"
        ]
        assert rtcctl(*base, "apps", "list", env={"RTC_SECURE": "1"}).stderr == untrusted.stderr
        bad_switch = rtcctl(*base, "apps", "list", env={"RTC_SECURE": "maybe"})
        assert bad_switch.returncode == 2
        assert "RTC_SECURE takes 1|0, true|false, yes|no or on|off, got 'maybe'" in bad_switch.stderr
        plain = rtcctl(*base, "apps", "list")
        assert plain.returncode == 1
        assert "does it need TLS (--secure)?" in plain.stderr

        missing = rtcctl(*base, "--ca", str(pki / "nope.pem"), "apps", "list")
        assert missing.returncode == 2
        assert f"cannot read --ca {pki / 'nope.pem'}: No such file or directory" in missing.stderr
        half = rtcctl(*base, "apps", "list", "--client-cert", str(pki / "client.pem"))
        assert half.returncode == 2
        assert "--client-cert and --client-key go together" in half.stderr
    logged = (tmp_path / "serve.log").read_text()
    assert f"TLS (--tls-cert {pki / 'server.pem'})" in logged
    assert (pki / "server.key").read_text().splitlines()[1] not in logged


def test_rtcctl_ingest_over_mutual_tls(pki: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    data_plane = f"127.0.0.1:{free_port()}"
    flags = (
        *("--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key")),
        *("--tls-client-ca", str(pki / "ca.pem"), "--tls-data-plane-listen", data_plane),
        *("--data-plane-token", TOKEN, "--no-workers"),
    )
    empty = tmp_path / "events.jsonl"
    empty.write_text("")
    with serving(url, *flags, log=tmp_path / "serve.log") as (_, target):
        env = {"RTC_DATA_PLANE_TOKEN": TOKEN, "RTC_CA": str(pki / "ca.pem")}
        mutual = {
            **env,
            "RTC_CLIENT_CERT": str(pki / "client.pem"),
            "RTC_CLIENT_KEY": str(pki / "client.key"),
        }
        sent = rtcctl("--target", data_plane, "ingest", "events", str(empty), env=mutual)
        assert (sent.returncode, sent.stderr) == (0, ""), sent.stderr
        assert sent.stdout.startswith("accepted 0, duplicates 0, rejected 0")
        refused = rtcctl("--target", target, "ingest", "events", str(empty), env=env)
        assert refused.returncode == 1
        assert "UNAUTHENTICATED: a client certificate is required" in refused.stderr
    assert f"data plane on {data_plane}: mutual TLS" in (tmp_path / "serve.log").read_text()


def test_serve_with_a_tls_file_that_does_not_do_is_one_clear_line(pki: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    done = run_cli(
        "serve", "--listen", "127.0.0.1:0", "--http-listen", "off", "--database-url", url,
        "--tls-cert", str(pki / "nope.pem"), "--tls-key", str(pki / "server.key"),
        check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert f"--tls-cert {pki / 'nope.pem'}: cannot read it (No such file or directory)" in done.stderr
    assert "Traceback" not in done.stderr
    half = run_cli("serve", "--listen", "127.0.0.1:0", "--http-listen", "off", "--database-url", url,
                   "--tls-key", str(pki / "server.key"), check=False)  # fmt: skip
    assert half.returncode != 0 and "--tls-cert and --tls-key go together" in half.stderr
