/**
 * The typed client over gRPC-Web (HTTP/1.1, binary and JSON) against the HTTP door of a real
 * `rtc-console serve --http-listen 127.0.0.1:0` (started here): unary calls with their typed
 * errors, the server-streaming SubscribeRoomEvents, and client-streaming ingest.
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import {
  InvalidArgument,
  NotFound,
  Unauthenticated,
  createConsole,
  createIngest,
  inBatches,
  v1,
  type RtcConsole,
} from "../src/index.js";
import { startServer, type Server } from "./support/server.js";

function entered(sdkAppId: bigint, id: string): v1.RoomEvent {
  return {
    $typeName: "rtcconsole.v1.RoomEvent",
    eventId: id,
    sdkAppId,
    room: { case: "strRoomId", value: "web" },
    userId: id,
    type: v1.EventType.USER_ENTERED,
    eventTime: timestampNow(),
    role: v1.Role.AUDIENCE,
    reason: 0,
    commandId: "",
  };
}

describe("gRPC-Web transport against the HTTP door", () => {
  let server: Server;
  let binary: RtcConsole;
  let json: RtcConsole;

  before(async () => {
    server = await startServer({ node_grpc_web: "basic" });
    assert.ok(server.http, `the HTTP door logged no "http door on http://HOST:PORT" line:\n${server.log()}`);
    const apiKey = server.accounts["node_grpc_web"]?.apiKey ?? "";
    binary = createConsole({ target: server.http, protocol: "grpc-web", apiKey });
    json = createConsole({ target: server.http, protocol: "grpc-web", binary: false, apiKey });
  });

  after(async () => {
    await server?.stop();
  });

  test("unary calls and their typed errors over gRPC-Web, binary and JSON", async () => {
    const { app } = await binary.apps.createApp({ name: "node_web" });
    assert.ok(app && app.sdkAppId > 0n);
    for (const client of [binary, json]) {
      const { apps } = await client.apps.listApps({ nameContains: "node_web" });
      assert.deepEqual(
        apps.map((a) => a.sdkAppId),
        [app.sdkAppId],
      );
      const error = await client.apps.createApp({ name: "bad name!" }).then(
        () => assert.fail("CreateApp accepted a name with a space"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof InvalidArgument, String(error));
      assert.deepEqual(
        error.fieldViolations.map((v) => v.field),
        ["name"],
      );
      await assert.rejects(client.apps.getApp({ sdkAppId: 1n }), NotFound);
    }
    const stranger = createConsole({
      target: server.http ?? "",
      protocol: "grpc-web",
      apiKey: "rtc_0000000000000000_wrong",
    });
    await assert.rejects(stranger.apps.listApps({}), Unauthenticated);
  });

  test("SubscribeRoomEvents streams stored then live events over gRPC-Web", async () => {
    const { app } = await binary.apps.createApp({ name: "node_web_rt" });
    const sdkAppId = app?.sdkAppId ?? 0n;
    const data = createIngest({ target: server.grpc, dataPlaneToken: server.dataPlaneToken });
    try {
      await data.ingest.reportEvents({ events: [entered(sdkAppId, "web-1")] });
      for (const client of [binary, json]) {
        for await (const message of client.monitor.subscribeRoomEvents(
          { sdkAppId, afterSequence: 0n },
          { timeoutMs: 20_000 },
        )) {
          assert.deepEqual(
            message.events.map((e) => e.event?.eventId),
            ["web-1"],
          );
          break; // leaving the loop cancels the stream
        }
      }
      const seen: string[] = [];
      for await (const message of binary.monitor.subscribeRoomEvents(
        { sdkAppId, afterSequence: 0n },
        { timeoutMs: 20_000 },
      )) {
        seen.push(...message.events.map((e) => e.event?.eventId ?? ""));
        if (seen.length === 1) await data.ingest.reportEvents({ events: [entered(sdkAppId, "web-2")] });
        if (seen.length >= 2) break;
      }
      assert.deepEqual(seen, ["web-1", "web-2"]); // the stored event, then the live one
    } finally {
      data.close();
    }
  });

  test("client-streaming ingest (streamEvents) over gRPC-Web", async () => {
    const { app } = await binary.apps.createApp({ name: "node_web_in" });
    const sdkAppId = app?.sdkAppId ?? 0n;
    const data = createIngest({
      target: server.http ?? "",
      protocol: "grpc-web",
      dataPlaneToken: server.dataPlaneToken,
    });
    const events = ["in-1", "in-2", "in-3"].map((id) => entered(sdkAppId, id));
    const tally = await data.ingest.streamEvents(inBatches(events, (batch) => ({ events: batch }), 2));
    assert.deepEqual([tally.accepted, tally.duplicates, tally.rejected], [3, 0, 0]);
    data.close();
  });
});

test("an unknown protocol is refused at once", () => {
  assert.throws(
    () => createConsole({ target: "127.0.0.1:1", protocol: "http3" as never, apiKey: "rtc_key" }),
    { name: "TypeError", message: 'protocol must be "grpc", "connect" or "grpc-web"' },
  );
});
