import assert from "node:assert/strict";
import { test } from "node:test";
import { eventTypeName, seriesPair, streamsOfSubView } from "../../src/lib/callview.js";

const streams = [{ media: 1, id: "v1" }, { media: 2, id: "a1" }, { media: 1, id: "v2" }, { media: 3, id: "s1" }];

test("a sub-view shows the streams of its kind, ALL shows every stream", () => {
  assert.deepEqual(streamsOfSubView(1, streams).map((s) => s.id), ["v1", "a1", "v2", "s1"]);
  assert.deepEqual(streamsOfSubView(2, streams).map((s) => s.id), ["v1", "v2"]);
  assert.deepEqual(streamsOfSubView(3, streams).map((s) => s.id), ["a1"]);
  assert.deepEqual(streamsOfSubView(4, streams).map((s) => s.id), ["s1"]);
  assert.deepEqual(streamsOfSubView(0, streams), []);
});

test("the full link is asked of the receiver of the pair", () => {
  assert.deepEqual(seriesPair(1, "bob", "alice"), { userId: "bob", peerId: "alice" }); // bob receives alice
  assert.deepEqual(seriesPair(2, "alice", "bob"), { userId: "bob", peerId: "alice" }); // alice's stream as bob received it
  assert.deepEqual(seriesPair(2, "alice", ""), { userId: "alice", peerId: "" }); // alice's own upstream
});

test("client event types read as words", () => {
  assert.equal(eventTypeName("NETWORK_CHANGE"), "network change");
  assert.equal(eventTypeName("CLIENT_EVENT_TYPE_ENTER_ROOM"), "enter room");
  assert.equal(eventTypeName(undefined), "event");
});
