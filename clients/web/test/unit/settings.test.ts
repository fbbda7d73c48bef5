import assert from "node:assert/strict";
import { test } from "node:test";
import { changedPaths, lastAttemptText, settingState } from "../../src/lib/settings.js";

test("the update mask names only the changed fields", () => {
  assert.deepEqual(changedPaths({ room_event_url: "http://a", media_event_url: "" }, { room_event_url: "http://a", media_event_url: "http://b" }), ["media_event_url"]);
  assert.deepEqual(changedPaths({ room_event_url: "http://a" }, { room_event_url: "" }), ["room_event_url"]);
  assert.deepEqual(changedPaths({}, { key: "" }), []);
});

test("a delivery's last attempt in a line", () => {
  assert.equal(lastAttemptText([]), "not attempted yet");
  assert.equal(lastAttemptText([{ attempt: 1, statusCode: 500, error: "HTTP 500" }, { attempt: 2, statusCode: 200, error: "" }]), "attempt 2: HTTP 200");
  assert.equal(lastAttemptText([{ attempt: 1, statusCode: 0, error: "timeout after 5s" }]), "attempt 1: timeout after 5s");
});

test("a pending setting is shown only when it differs", () => {
  assert.deepEqual(settingState("off", undefined), { effective: "off", pending: undefined });
  assert.deepEqual(settingState("off", "on"), { effective: "off", pending: "on" });
  assert.deepEqual(settingState("on", "on"), { effective: "on", pending: undefined });
});
