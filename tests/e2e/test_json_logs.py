"""``rtc-console --log-format json serve`` as a real process: every line of its log is one JSON
object; each call's line names its method, code and duration; no token or key in any line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import grpc

from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import app_service_pb2_grpc as pb_grpc
from tests.e2e.processes import create_account, run_cli, running

_LISTENING = re.compile(r"listening on (\d+\.\d+\.\d+\.\d+:\d+)")
TOKEN = "dp-json-s3cret"
"""The data-plane token: it must not appear in the log."""


async def test_serve_logs_one_json_object_per_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    run_cli("migrate", "--database-url", url)
    _, key = create_account(url, "ops")
    log = tmp_path / "serve.log"
    argv = ["--log-format", "json", "--log-level", "DEBUG", "serve", "--listen", "127.0.0.1:0",
            "--http-listen", "off", "--database-url", url, "--data-plane-token", TOKEN]  # fmt: skip
    with running(argv, log=log, ready=_LISTENING) as (_, target):
        async with grpc.aio.insecure_channel(target) as channel:
            stub = pb_grpc.AppServiceStub(channel)
            metadata = (("authorization", f"Bearer {key}"),)
            await stub.CreateApp(pb.CreateAppRequest(name="demo"), metadata=metadata)
            try:
                await stub.GetApp(pb.GetAppRequest(sdk_app_id=1), metadata=metadata)
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.NOT_FOUND
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # every line parses
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    took = {line["method"]: line for line in lines if line["message"].endswith(" ms") and "method" in line}
    create, get = took["/rtcconsole.v1.AppService/CreateApp"], took["/rtcconsole.v1.AppService/GetApp"]
    assert (create["code"], get["code"], create["level"]) == ("OK", "NOT_FOUND", "DEBUG")
    assert isinstance(get["duration_ms"], float) and get["duration_ms"] >= 0
    assert any(line["message"].startswith("rtc-console listening on") for line in lines)
    assert key not in text and TOKEN not in text
