// The web console in a real headless Chromium against a real server fed by the simulator
// (issue 15): sign-in, applications, the call list and details, real time, a CSV download.
// Screenshots of each screen go to clients/web/test-output/ (gitignored).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { OUTPUT, startConsole } from "./harness.mjs";

let rtc;
let simApp;
let page;
const timings = {};

const shot = (name) => page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: true });
const marked = (level) => level === "QUALITY_LEVEL_POOR" || level === "QUALITY_LEVEL_SEVERE";

before(async () => {
  rtc = await startConsole();
  simApp = (await rtc.call(rtc.keys.advanced, "AppService", "CreateApp", { name: "sim_app" })).app.sdkAppId;
  await rtc.simulate(simApp, { backfill: "30m", live: true });
  page = await rtc.browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => console.error("page error:", error.message));
});

after(async () => {
  writeFileSync(join(OUTPUT, "timings.json"), JSON.stringify(timings, null, 2));
  await rtc?.stop();
});

test("sign in with an API key: identity and edition shown, the key in sessionStorage only", async () => {
  const started = Date.now();
  await page.goto(`${rtc.http}/`);
  await page.waitForSelector("#api-key");
  timings.signInFormMs = Date.now() - started;
  await shot("01-sign-in");
  await page.fill("#api-key", rtc.keys.advanced);
  const signedIn = Date.now();
  await page.press("#api-key", "Enter"); // keyboard only
  await page.waitForSelector("#apps-table");
  timings.appListAfterSignInMs = Date.now() - signedIn;
  await page.waitForFunction(() => document.querySelector("[data-testid=edition]")?.textContent?.includes("edition"));
  const identity = await page.textContent("[data-testid=identity]");
  assert.match(identity, /web_ops/);
  assert.match(identity, /advanced edition/);
  assert.ok(!page.url().includes(rtc.keys.advanced));
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.equal(await page.evaluate(() => Object.keys(sessionStorage).length), 1);
});

test("applications: create one and see it listed; an invalid name shows the field error", async () => {
  await page.fill("#field-name", "web_app");
  await page.click("form.card button[type=submit]");
  await page.waitForFunction(() => [...document.querySelectorAll("#apps-table td")].some((td) => td.textContent === "web_app"));
  const listed = await rtc.call(rtc.keys.advanced, "AppService", "ListApps", { nameContains: "web_app" });
  assert.equal(listed.apps.length, 1);
  assert.ok((await page.textContent("#apps-table")).includes(listed.apps[0].sdkAppId));

  await page.fill("#field-name", "bad name!");
  await page.click("form.card button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#error-name")?.textContent !== "");
  assert.match(await page.textContent("#error-name"), /may contain only/);
  assert.equal(await page.getAttribute("#field-name", "aria-invalid"), "true");
  await shot("02-applications");

  await page.fill("#app-search", "sim");
  await page.press("#app-search", "Enter");
  await page.waitForFunction(() => document.querySelectorAll("#apps-table tbody tr").length === 1);
  assert.match(await page.textContent("#apps-table"), /sim_app/);
});

const roomOf = (c) => String(c.roomId ?? c.strRoomId);
const shownRooms = () => page.$$eval("#calls-table tbody tr td:first-child", (tds) => tds.map((td) => td.textContent));
const RANGES = { CALL_RANGE_TODAY: 1, CALL_RANGE_YESTERDAY: 2, CALL_RANGE_LAST_6_HOURS: 3, CALL_RANGE_LAST_14_DAYS: 4 };
/**
 * `act` (a navigation) shows the call list of `request`; its rows lie between a read of
 * ListCalls before `act` and one after the list is shown (live simulation: calls only accrue).
 */
async function listedAsApi(request, what, act) {
  const listCalls = async () => (await rtc.call(rtc.keys.advanced, "MonitorService", "ListCalls", { sdkAppId: simApp, pageSize: 50, ...request })).calls ?? [];
  const before = await listCalls();
  await act();
  const query = new URLSearchParams({ range: String(RANGES[request.range]), room: String(request.roomId ?? request.strRoomId ?? ""), user: request.userId ?? "" }).toString();
  await page.waitForSelector(`[data-testid=call-list][data-query="${query}"]`);
  const rooms = await shownRooms();
  const after = await listCalls();
  assert.ok(before.length <= rooms.length && rooms.length <= after.length, `${what}: ${before.length} <= ${rooms.length} <= ${after.length}`);
  const known = new Set(after.map(roomOf));
  for (const r of rooms) assert.ok(known.has(r), `${what}: room ${r} is not in ListCalls`);
  return after;
}

test("the call list: today by default (R17), the presets, room and user search", async () => {
  await listedAsApi({ range: "CALL_RANGE_TODAY" }, "today", () => page.goto(`${rtc.http}/#/calls?app=${simApp}`));
  assert.equal(await page.textContent(".presets [aria-checked=true]"), "Today");
  await listedAsApi({ range: "CALL_RANGE_LAST_6_HOURS" }, "last 6 hours", () => page.click(".presets button:has-text('Last 6 hours')"));
  const calls = await listedAsApi({ range: "CALL_RANGE_LAST_14_DAYS" }, "last 14 days", () => page.click(".presets button:has-text('Last 14 days')"));
  assert.ok(calls.length > 0);
  await shot("03-calls");

  // Search by room: only that room's calls; then by a user of a call (the room cleared).
  const room = roomOf(calls[0]);
  const roomFilter = calls[0].roomId !== undefined ? { roomId: calls[0].roomId } : { strRoomId: calls[0].strRoomId };
  const byRoom = await listedAsApi({ range: "CALL_RANGE_LAST_14_DAYS", ...roomFilter }, `room ${room}`, async () => {
    await page.fill("#call-room", room);
    await page.press("#call-room", "Enter");
  });
  assert.ok(byRoom.length > 0 && (await shownRooms()).every((r) => r === room));
  const user = (await rtc.call(rtc.keys.advanced, "MonitorService", "ListCallUsers", { callId: calls[0].callId, pageSize: 1 })).users[0].userId;
  const byUser = await listedAsApi({ range: "CALL_RANGE_LAST_14_DAYS", userId: user }, `user ${user}`, async () => {
    await page.fill("#call-room", "");
    await page.fill("#call-user", user);
    await page.click("form[role=search] button[type=submit]");
  });
  assert.ok(byUser.some((c) => c.callId === calls[0].callId));
});

test("the call list opens a call: its users and a quality chart with its bands, breaches and jitter moments marked", async () => {
  const calls = (await rtc.call(rtc.keys.advanced, "MonitorService", "ListCalls", { sdkAppId: simApp, range: "CALL_RANGE_LAST_14_DAYS", pageSize: 50 })).calls;
  await page.goto(`${rtc.http}/#/calls?app=${simApp}&range=4`);
  await page.waitForSelector("#calls-table");
  const thresholds = await rtc.call(rtc.keys.advanced, "MonitorService", "GetQualityThresholds", {});

  await page.locator("a.open-call").first().click();
  await page.waitForSelector("#users-table tbody tr");
  assert.match(page.url(), /#\/calls\/\d+_/);

  // The chart against the API, on calls that have ended (their series no longer grow).
  let sawBreach = false;
  const ended = calls.filter((c) => c.endTime !== undefined).slice(0, 6);
  for (const { callId } of ended) {
    if (sawBreach) break;
    await page.goto(`${rtc.http}/#/calls/${encodeURIComponent(callId)}?app=${simApp}`);
    const here = `[data-call="${callId}"]`;
    await page.waitForSelector(`${here} #users-table tbody tr`);
    const users = (await rtc.call(rtc.keys.advanced, "MonitorService", "ListCallUsers", { callId, pageSize: 20 })).users.map((u) => u.userId);
    const shownUsers = await page.locator(`${here} #users-table tbody tr td:first-child`).allTextContents();
    assert.ok(shownUsers.length > 0 && shownUsers.length <= 6, shownUsers.join());
    for (const user of shownUsers) assert.ok(users.includes(user), `${user} is not a user of ${callId}`);
    const chart = await page.waitForSelector(`${here} [data-testid=quality-chart], ${here}[data-testid=user-view] .notice:not(.info)`, { timeout: 15_000 });
    if ((await chart.getAttribute("data-testid")) !== "quality-chart") continue;
    const view = await page.$eval(`${here}[data-testid=user-view]`, (el) => ({ ...el.dataset }));
    const answer = await rtc.call(rtc.keys.advanced, "MonitorService", "GetUserView", { callId, userId: view.user });
    const side = answer.views.filter((v) => (v.streams ?? []).length > 0)[0];
    const loss = side.streams[Number(view.stream)].series.find((s) => s.metric === "SERIES_METRIC_PACKET_LOSS");
    const points = loss?.points ?? [];
    assert.equal(Number(await chart.getAttribute("data-points")), points.length);
    const breaches = points.filter((p) => marked(p.level)).length;
    assert.equal(Number(await chart.getAttribute("data-breaches")), breaches);
    // Jitter moments: the stream's, one dashed line each.
    const stream = side.streams[Number(view.stream)];
    assert.equal(Number(await chart.getAttribute("data-moments")), (stream.jitterMoments ?? []).length);
    // The bands behind the line: GetQualityThresholds' packet-loss bands for the stream's media,
    // clipped to the chart's y range (at least 5 %, 10 % above the highest point).
    const bands = thresholds.metrics.find((m) => m.metric === "QUALITY_METRIC_PACKET_LOSS" && (!m.media || m.media.includes(stream.media))).bands;
    const top = Math.max(5, ...points.map((p) => p.value ?? 0)) * 1.1;
    const edges = bands.map((b) => [Math.max(0, b.range.lower ?? -Infinity), Math.min(top, b.range.upper ?? Infinity)]).filter(([lo, hi]) => hi > lo).map(([, hi]) => hi);
    const drawn = (await chart.getAttribute("data-bands")).split(",").map(Number);
    assert.equal(drawn.length, edges.length, `${drawn} vs ${edges}`);
    drawn.forEach((d, i) => assert.ok(Math.abs(d - edges[i]) < 1e-6 * Math.max(1, edges[i]), `${drawn} vs ${edges}`));
    assert.ok(edges.length >= 2, `${edges}`);
    if (breaches > 0) {
      sawBreach = true;
      await shot("04-call-details");
    }
  }
  assert.ok(sawBreach, "no call of the simulated data had a marked packet-loss point");
});

test("real time: figures change as slots pass, over the stream; the rooms CSV matches the API", async () => {
  const started = Date.now();
  await page.goto(`${rtc.http}/#/realtime?app=${simApp}`);
  await page.waitForSelector("[data-slot]");
  await page.waitForSelector("[data-testid=quality-chart] canvas");
  timings.realtimeFirstRenderMs = Date.now() - started; // overview and both charts with 30 min of slots
  const firstSlot = Number(await page.getAttribute("[data-slot]", "data-slot"));
  const pointsAt = () => Promise.all(["scale-chart", "quality-chart", "audio-quality-chart"].map(async (id) => Number(await page.getAttribute(`[data-testid=${id}]`, "data-points"))));
  const firstPoints = await pointsAt();
  await page.waitForFunction((slot) => Number(document.querySelector("[data-slot]")?.getAttribute("data-slot")) > slot && document.querySelector("[data-frames]"), firstSlot, { timeout: 30_000 });
  const frames = Number(await page.getAttribute("[data-frames]", "data-frames"));
  assert.ok(frames >= 1);
  assert.ok(Number(await page.getAttribute("[data-testid=scale-chart]", "data-points")) > 100);
  // The charts drew the new slot: each has more points than before the frame.
  const laterPoints = await pointsAt();
  laterPoints.forEach((n, i) => assert.ok(n > firstPoints[i], `chart ${i}: ${firstPoints[i]} points, then ${n}`));
  await shot("05-realtime");
  // Decision 0034: in its default order the rooms table is the frame's top_rooms.
  await page.waitForSelector("#rooms-table[data-source=frame]");

  let compared = false;
  for (let attempt = 0; attempt < 3 && !compared; attempt++) {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#rooms-csv")]);
    const text = readFileSync(await download.path(), "utf8");
    const [header, ...rows] = text.trim().split("\r\n").map((line) => line.split(","));
    assert.deepEqual(header, ["slot_start_utc", "room", "online_users", "abnormal_users", "video_stall_percent", "audio_stall_percent"]);
    const api = await rtc.call(rtc.keys.advanced, "MonitorService", "ListRealtimeRooms", { sdkAppId: simApp, pageSize: 20 });
    if (new Date(api.slotStart).getTime() !== new Date(rows[0]?.[0] ?? 0).getTime()) {
      await page.waitForTimeout(2_000); // the slot moved on between the two reads: again
      continue;
    }
    const expected = (api.rooms ?? []).map((r) => [String(r.roomId ?? r.strRoomId), String(r.figures?.onlineUsers ?? 0), String(r.figures?.abnormalUsers ?? 0), (r.figures?.videoStallRate?.percent ?? 0).toFixed(2), (r.figures?.audioStallRate?.percent ?? 0).toFixed(2)]);
    assert.deepEqual(rows.map((r) => r.slice(1)), expected);
    assert.ok(expected.length > 0);
    compared = true;
  }
  assert.ok(compared, "the CSV and the API never described the same slot");
});

test("phone width: the real-time page does not scroll sideways", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page is ${overflow} px wider than the phone`);
  await shot("06-realtime-phone");
  await page.setViewportSize({ width: 1280, height: 900 });
});

test("a free-edition account sees why the real-time page is closed", async () => {
  const context = await rtc.browser.newContext();
  const free = await context.newPage();
  await rtc.call(rtc.keys.free, "AppService", "CreateApp", { name: "free_app" });
  await free.goto(`${rtc.http}/`);
  await free.fill("#api-key", rtc.keys.free);
  await free.press("#api-key", "Enter");
  await free.waitForSelector("#apps-table");
  await free.goto(`${rtc.http}/#/realtime`);
  const closed = await free.waitForSelector("[data-testid=edition-closed]");
  assert.match(await closed.textContent(), /free dashboard edition/);
  assert.match(await free.textContent("[data-testid=identity]"), /free edition/);
  await free.screenshot({ path: join(OUTPUT, "07-realtime-free.png"), fullPage: true });
  await context.close();
});
