/** The error table and detail decoding, on ConnectErrors as the transports build them. */

import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  ERROR_CLASS_BY_CODE,
  Internal,
  ResourceExhausted,
  RtcConsoleError,
  Unknown,
  errorClassFor,
  fromConnectError,
  rpc,
} from "../src/index.js";

function incoming<D extends DescMessage>(schema: D, init: MessageInitShape<D>) {
  return { type: schema.typeName, value: toBinary(schema, create(schema, init)) };
}

test("a status with QuotaFailure, ErrorInfo and RetryInfo becomes ResourceExhausted with them decoded", () => {
  const error = new ConnectError("app quota used up", Code.ResourceExhausted);
  error.details = [
    incoming(rpc.QuotaFailureSchema, { violations: [{ subject: "apps", description: "at most 50 apps" }] }),
    incoming(rpc.ErrorInfoSchema, {
      reason: "APP_QUOTA",
      domain: "rtc-console",
      metadata: { limit: "50", current: "50" },
    }),
    incoming(rpc.RetryInfoSchema, { retryDelay: { seconds: 30n } }),
    { type: "example.Unknown", value: new Uint8Array([1, 2]) },
    { type: "google.rpc.BadRequest", value: new Uint8Array([0xff]) }, // undecodable: kept packed
  ];
  const typed = fromConnectError(error);
  assert.ok(typed instanceof ResourceExhausted && typed instanceof RtcConsoleError && typed instanceof Error);
  assert.equal(typed.message, "RESOURCE_EXHAUSTED: app quota used up");
  assert.equal(typed.rawMessage, "app quota used up");
  assert.equal(typed.connectError, error);
  assert.deepEqual(
    typed.quotaViolations.map((v) => v.subject),
    ["apps"],
  );
  assert.deepEqual(typed.errorInfo?.metadata, { limit: "50", current: "50" });
  assert.equal(typed.retryInfo?.retryDelay?.seconds, 30n);
  assert.deepEqual(typed.fieldViolations, []);
  assert.equal(typed.requestInfo, undefined);
  assert.deepEqual(typed.toJSON(), {
    code: "RESOURCE_EXHAUSTED",
    message: "app quota used up",
    details: [
      {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        violations: [{ subject: "apps", description: "at most 50 apps" }],
      },
      {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        reason: "APP_QUOTA",
        domain: "rtc-console",
        metadata: { limit: "50", current: "50" },
      },
      { "@type": "type.googleapis.com/google.rpc.RetryInfo", retry_delay: "30s" },
      { "@type": "type.googleapis.com/example.Unknown" },
      { "@type": "type.googleapis.com/google.rpc.BadRequest" },
    ],
  });
});

test("one class per status; the others are RtcConsoleError with their code", () => {
  assert.equal(ERROR_CLASS_BY_CODE.size, 12);
  assert.equal(errorClassFor(Code.Internal), Internal);
  const cancelled = fromConnectError(new ConnectError("gone", Code.Canceled));
  assert.equal(cancelled.constructor, RtcConsoleError);
  assert.equal(cancelled.codeName, "CANCELLED");
  const unimplemented = fromConnectError(new ConnectError("no", Code.Unimplemented));
  assert.equal(unimplemented.message, "UNIMPLEMENTED: no");
  const thrown = fromConnectError(new TypeError("boom"));
  assert.ok(thrown instanceof Unknown);
  assert.equal(fromConnectError(thrown), thrown);
  const internal = fromConnectError(
    Object.assign(new ConnectError("bug", Code.Internal), {
      details: [incoming(rpc.RequestInfoSchema, { requestId: "c0ffee" })],
    }),
  );
  assert.equal(internal.requestInfo?.requestId, "c0ffee");
  assert.equal(internal.name, "Internal");
  const local = new ConnectError("x", Code.InvalidArgument, undefined, [
    { desc: rpc.BadRequestSchema, value: { fieldViolations: [{ field: "app.name", description: "bad" }] } },
  ]);
  assert.deepEqual(
    fromConnectError(local).fieldViolations.map((v) => v.field),
    ["app.name"],
  );
});
