/**
 * The typed client over the Connect protocol (HTTP/1.1, JSON and binary) against the HTTP door
 * of a real `rtc-console serve --http-listen 127.0.0.1:0` (started here).
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

describe("Connect transport against the HTTP door", () => {
  let server: Server;
  let json: RtcConsole;
  let binary: RtcConsole;

  before(async () => {
    server = await startServer({ node_connect: "basic" });
    assert.ok(server.http, `the HTTP door logged no "http door on http://HOST:PORT" line:\n${server.log()}`);
    const apiKey = server.accounts["node_connect"]?.apiKey ?? "";
    json = createConsole({ target: server.http, protocol: "connect", apiKey });
    binary = createConsole({ target: server.http, protocol: "connect", binary: true, apiKey });
  });

  after(async () => {
    await server?.stop();
  });

  test("CreateApp and ListApps over Connect JSON and binary", async () => {
    const { app } = await json.apps.createApp({ name: "node_http" });
    assert.ok(app && app.sdkAppId > 0n);
    const viaJson = await json.apps.listApps({ nameContains: "node_http" });
    const viaBinary = await binary.apps.listApps({ nameContains: "node_http" });
    assert.deepEqual(
      viaJson.apps.map((a) => a.sdkAppId),
      [app.sdkAppId],
    );
    assert.deepEqual(
      viaBinary.apps.map((a) => a.name),
      ["node_http"],
    );
  });

  test("errors keep their code and decoded details over Connect", async () => {
    for (const client of [json, binary]) {
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
      protocol: "connect",
      apiKey: "rtc_0000000000000000_wrong",
    });
    await assert.rejects(stranger.apps.listApps({}), Unauthenticated);
  });

  test("SubscribeRoomEvents streams over Connect", async () => {
    const { app } = await json.apps.createApp({ name: "node_http_rt" });
    const sdkAppId = app?.sdkAppId ?? 0n;
    const data = createIngest({ target: server.grpc, dataPlaneToken: server.dataPlaneToken });
    try {
      const event = {
        eventId: "node-http-1",
        sdkAppId,
        room: { case: "strRoomId", value: "lobby" },
        userId: "u1",
        type: v1.EventType.USER_ENTERED,
        eventTime: timestampNow(),
        role: v1.Role.AUDIENCE,
      } as const;
      await data.ingest.reportEvents({ events: [event] });
    } finally {
      data.close();
    }
    for (const client of [json, binary]) {
      for await (const message of client.monitor.subscribeRoomEvents(
        { sdkAppId, afterSequence: 0n },
        { timeoutMs: 20_000 },
      )) {
        assert.deepEqual(
          message.events.map((e) => e.event?.eventId),
          ["node-http-1"],
        );
        assert.equal(message.events[0]?.event?.room.value, "lobby");
        break;
      }
    }
  });

  test("client-streaming ingest (streamEvents) over Connect on HTTP/1.1, JSON and binary", async () => {
    const { app } = await json.apps.createApp({ name: "node_http_in" });
    const sdkAppId = app?.sdkAppId ?? 0n;
    const event = (n: number): v1.RoomEvent => ({
      $typeName: "rtcconsole.v1.RoomEvent",
      eventId: `node-http-in-${n}`,
      sdkAppId,
      room: { case: "roomId", value: 77 },
      userId: `user-${n}`,
      type: v1.EventType.USER_ENTERED,
      eventTime: timestampNow(),
      role: v1.Role.AUDIENCE,
      reason: 0,
      commandId: "",
    });
    for (const [binaryFormat, first] of [
      [false, 1],
      [true, 4],
    ] as const) {
      const data = createIngest({
        target: server.http ?? "",
        protocol: "connect",
        binary: binaryFormat,
        dataPlaneToken: server.dataPlaneToken,
      });
      const events = [first, first + 1, first + 2].map(event);
      const tally = await data.ingest.streamEvents(inBatches(events, (batch) => ({ events: batch }), 2));
      assert.deepEqual([tally.accepted, tally.duplicates, tally.rejected], [3, 0, 0]);
      const again = await data.ingest.streamEvents(
        inBatches(events.slice(0, 1), (batch) => ({ events: batch })),
      );
      assert.equal(again.duplicates, 1);
      data.close();
    }
    const stored: string[] = [];
    for await (const message of json.monitor.subscribeRoomEvents(
      { sdkAppId, afterSequence: 0n },
      { timeoutMs: 20_000 },
    )) {
      stored.push(...message.events.map((e) => e.event?.eventId ?? ""));
      if (stored.length >= 6) break;
    }
    assert.deepEqual(
      stored,
      [1, 2, 3, 4, 5, 6].map((n) => `node-http-in-${n}`),
    );
  });
});
