/** The typed client over gRPC against a real `rtc-console serve` (started here, port 0). */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  bearerAuth,
  DeadlineExceeded,
  FailedPrecondition,
  InvalidArgument,
  NotFound,
  PermissionDenied,
  RtcConsoleError,
  Unauthenticated,
  createConsole,
  createIngest,
  inBatches,
  paginate,
  parseEvent,
  verifySignature,
  v1,
  type RtcConsole,
  type RtcIngest,
} from "../src/index.js";
import { REPO, startServer, type Server } from "./support/server.js";

const HERE = dirname(fileURLToPath(import.meta.url));

function userEntered(sdkAppId: bigint, n: number, roomId: number): v1.RoomEvent {
  return {
    $typeName: "rtcconsole.v1.RoomEvent",
    eventId: `node-ev-${n}`,
    sdkAppId,
    room: { case: "roomId", value: roomId },
    userId: `user-${n}`,
    type: v1.EventType.USER_ENTERED,
    eventTime: timestampNow(),
    role: v1.Role.ANCHOR,
    reason: 0,
    commandId: "",
  };
}

describe("gRPC transport against rtc-console serve", () => {
  let server: Server;
  let free: RtcConsole;
  let basic: RtcConsole;
  let data: RtcIngest;
  let basicKey: string;

  before(async () => {
    server = await startServer({ node_free: "free", node_basic: "basic" });
    free = createConsole({ target: server.grpc, apiKey: server.accounts["node_free"]?.apiKey ?? "" });
    basicKey = server.accounts["node_basic"]?.apiKey ?? "";
    basic = createConsole({ target: server.grpc, apiKey: basicKey });
    data = createIngest({ target: server.grpc, dataPlaneToken: server.dataPlaneToken });
  });

  after(async () => {
    for (const client of [free, basic, data]) client?.close();
    await server?.stop();
  });

  test("CreateApp then ListApps and GetApp round trip", async () => {
    const { app } = await free.apps.createApp({ name: "node_first", description: "from_node" });
    assert.ok(app && app.sdkAppId > 0n);
    assert.equal(app.name, "node_first");
    const page = await free.apps.listApps({ nameContains: "node_first" });
    assert.deepEqual(
      page.apps.map((a) => a.sdkAppId),
      [app.sdkAppId],
    );
    const again = await free.apps.getApp({ sdkAppId: app.sdkAppId });
    assert.equal(again.app?.description, "from_node");
  });

  test("an invalid name is InvalidArgument with a decoded BadRequest field violation", async () => {
    const error = await free.apps.createApp({ name: "bad name!" }).then(
      () => assert.fail("CreateApp accepted a name with a space"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof InvalidArgument, String(error));
    assert.ok(error instanceof RtcConsoleError);
    assert.equal(error.codeName, "INVALID_ARGUMENT");
    assert.match(error.message, /^INVALID_ARGUMENT: /);
    assert.deepEqual(
      error.fieldViolations.map((v) => v.field),
      ["name"],
    );
    assert.match(error.fieldViolations[0]?.description ?? "", /R2/);
    const json = error.toJSON();
    assert.equal(
      (json.details[0] as { "@type": string })["@type"],
      "type.googleapis.com/google.rpc.BadRequest",
    );
  });

  test("another account's app is NotFound; a wrong key is Unauthenticated", async () => {
    const { app } = await free.apps.createApp({ name: "node_mine" });
    await assert.rejects(basic.apps.getApp({ sdkAppId: app?.sdkAppId ?? 0n }), NotFound);
    const stranger = createConsole({ target: server.grpc, apiKey: "rtc_0000000000000000_wrong" });
    try {
      await assert.rejects(stranger.apps.listApps({}), Unauthenticated);
    } finally {
      stranger.close();
    }
  });

  test("paginate walks every page with page_token / next_page_token", async () => {
    const names = ["node_pg_a", "node_pg_b", "node_pg_c", "node_pg_d", "node_pg_e"];
    for (const name of names) await free.apps.createApp({ name });
    const pages: number[] = [];
    const seen: string[] = [];
    const counting = async (request: Parameters<typeof free.apps.listApps>[0]) => {
      const page = await free.apps.listApps(request);
      pages.push(page.apps.length);
      return page;
    };
    for await (const app of paginate(counting, { nameContains: "node_pg_", pageSize: 2 }, "apps"))
      seen.push(app.name);
    assert.deepEqual(seen, [...names].reverse()); // newest first (R4)
    assert.deepEqual(pages, [2, 2, 1]);
  });

  test("client-streaming ingest, then SubscribeRoomEvents replays the stored events", async () => {
    const { app } = await basic.apps.createApp({ name: "node_live" });
    const sdkAppId = app?.sdkAppId ?? 0n;
    const events = [1, 2, 3].map((n) => userEntered(sdkAppId, n, 4242));
    const tally = await data.ingest.streamEvents(inBatches(events, (batch) => ({ events: batch }), 2));
    assert.deepEqual([tally.accepted, tally.duplicates, tally.rejected], [3, 0, 0]);
    const retry = await data.ingest.streamEvents(
      inBatches(events.slice(0, 1), (batch) => ({ events: batch })),
    );
    assert.equal(retry.duplicates, 1);

    const received: v1.SequencedRoomEvent[] = [];
    for await (const message of basic.monitor.subscribeRoomEvents(
      { sdkAppId, afterSequence: 0n },
      { timeoutMs: 20_000 },
    )) {
      received.push(...message.events);
      if (received.length >= 3) break; // leaving the loop cancels the stream
    }
    assert.deepEqual(
      received.map((e) => e.event?.eventId),
      ["node-ev-1", "node-ev-2", "node-ev-3"],
    );
    assert.ok(received.every((e, i) => i === 0 || e.sequence > (received[i - 1]?.sequence ?? 0n)));
  });

  test("leaving the for-await loop cancels the stream (the HTTP/2 session goes idle)", async () => {
    const { app } = await basic.apps.createApp({ name: "node_leave" });
    const sdkAppId = app?.sdkAppId ?? 0n;
    await data.ingest.reportEvents({ events: [userEntered(sdkAppId, 50, 9)] });
    const baseUrl = `http://${server.grpc}`;
    const sessions = new Http2SessionManager(baseUrl);
    const own = createConsole({
      target: "",
      apiKey: basicKey,
      transport: createGrpcTransport({
        baseUrl,
        sessionManager: sessions,
        interceptors: [bearerAuth(basicKey)],
      }),
    });
    try {
      for await (const message of own.monitor.subscribeRoomEvents({ sdkAppId, afterSequence: 0n })) {
        assert.equal(message.events.length, 1);
        assert.equal(sessions.state(), "open");
        break;
      }
      const deadline = Date.now() + 5000;
      while (sessions.state() !== "idle" && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.equal(sessions.state(), "idle");
    } finally {
      sessions.abort();
    }
  });

  test("SubscribeRealtime yields frames as an async iterator", async () => {
    const { app } = await basic.apps.createApp({ name: "node_frames" });
    for await (const frame of basic.monitor.subscribeRealtime(
      { sdkAppId: app?.sdkAppId ?? 0n },
      { timeoutMs: 25_000 },
    )) {
      assert.equal(frame.sdkAppId, app?.sdkAppId);
      assert.ok(frame.slotStart && frame.slotEnd);
      assert.equal(Number(frame.slotEnd.seconds - frame.slotStart.seconds), 10);
      break;
    }
  });

  test("a free account's subscription is FailedPrecondition with PreconditionFailure and ErrorInfo", async () => {
    const { app } = await free.apps.createApp({ name: "node_free_rt" });
    const stream = free.monitor.subscribeRoomEvents({ sdkAppId: app?.sdkAppId ?? 0n, afterSequence: 0n });
    const error = await (async () => {
      for await (const _ of stream) assert.fail("a free account got room events");
    })().then(
      () => assert.fail("the stream ended without an error"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof FailedPrecondition, String(error));
    assert.equal(error.errorInfo?.reason, "EDITION_REQUIRED");
    assert.equal(error.errorInfo?.metadata["edition"], "free");
    assert.deepEqual(
      error.preconditionViolations.map((v) => v.type),
      ["EDITION"],
    );
  });

  test("timeoutMs is the deadline, also of a stream with no message yet", async () => {
    const { app } = await basic.apps.createApp({ name: "node_quiet" });
    const started = Date.now();
    const quiet = basic.monitor.subscribeRoomEvents({ sdkAppId: app?.sdkAppId ?? 0n }, { timeoutMs: 500 });
    await assert.rejects(
      (async () => {
        for await (const _ of quiet) assert.fail("no event was ingested for this app");
      })(),
      DeadlineExceeded,
    );
    assert.ok(Date.now() - started < 10_000);
  });

  test("a real callback's Sign header verifies over the raw body bytes", { timeout: 30_000 }, async () => {
    const received = new Promise<{ body: Buffer; sign: string | undefined }>((resolveBody, fail) => {
      const receiver = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
          response.end("ok");
          receiver.close();
          resolveBody({ body: Buffer.concat(chunks), sign: request.headers["sign"] as string | undefined });
        });
      });
      receiver.listen(0, "127.0.0.1", () => {
        const { port } = receiver.address() as AddressInfo;
        void (async () => {
          const { app } = await free.apps.createApp({ name: "node_hooks" });
          const sdkAppId = app?.sdkAppId ?? 0n;
          await free.config.updateCallbackConfig({
            sdkAppId,
            key: "NodeKey12345678",
            roomEventUrl: `http://127.0.0.1:${port}/rtc`,
          });
          await data.ingest.reportEvents({
            events: [{ ...userEntered(sdkAppId, 99, 77), eventId: "node-cb-1" }],
          });
        })().catch((error: unknown) => {
          receiver.close();
          fail(error);
        });
      });
    });
    const { body, sign } = await received;
    assert.ok(verifySignature("NodeKey12345678", body, sign), `Sign ${sign} does not match the body`);
    assert.ok(!verifySignature("NodeKey12345679", body, sign));
    const event = parseEvent(body);
    assert.deepEqual(
      [event.eventId, event.eventType, event.roomId, event.userId, event.roomSeq],
      ["node-cb-1", 103, 77, "user-99", 1],
    );
  });

  test("the example of clients/node/README.md runs", async () => {
    const readme = readFileSync(join(REPO, "clients", "node", "README.md"), "utf8");
    const example = /## Example\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(example, "README.md has no ```ts block under ## Example");
    const index = pathToFileURL(join(HERE, "..", "src", "index.js")).href;
    const script = join(HERE, "readme-example.mjs");
    writeFileSync(script, example.replace('"@rtc-console/client"', JSON.stringify(index)));
    const env = {
      ...process.env,
      RTC_TARGET: server.grpc,
      RTC_API_KEY: server.accounts["node_free"]?.apiKey ?? "",
    };
    const { stdout } = await promisify(execFile)(process.execPath, [script], { env, timeout: 30_000 });
    assert.match(stdout, /^\d+ live_demo$/m);
    assert.match(stdout, /\[ 'name' \]/);
  });

  test("an account key on the data plane is PermissionDenied", async () => {
    const wrongSide = createIngest({ target: server.grpc, dataPlaneToken: basicKey });
    try {
      await assert.rejects(wrongSide.ingest.reportEvents({ events: [] }), PermissionDenied);
    } finally {
      wrongSide.close();
    }
  });
});
