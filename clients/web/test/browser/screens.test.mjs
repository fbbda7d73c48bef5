// The console's other screens in a real headless Chromium against a real server fed by the
// simulator: real-time breakdowns and the sortable, paged rooms table; an app's info, tags and
// a disable with the TOTP step followed until it takes effect; function settings (a refused
// precondition, a pending change until it takes effect), callbacks (a test callback's answer,
// the delivery log); usage against the API. Screenshots go to clients/web/test-output/.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { callbackReceiver, OUTPUT, startConsole, totpNow } from "./harness.mjs";

let rtc;
let simApp;
let page;
let receiver;

const shot = (name) => page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: true });
const text = (selector) => page.textContent(selector);
const noSidewaysScroll = async (what) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.ok(overflow <= 1, `${what}: the page is ${overflow} px wider than the phone`);
};

before(async () => {
  rtc = await startConsole();
  receiver = await callbackReceiver();
  simApp = (await rtc.call(rtc.keys.advanced, "AppService", "CreateApp", { name: "sim_app" })).app.sdkAppId;
  await rtc.simulate(simApp, { backfill: "15m", live: true, rooms: 60 });
  page = await rtc.browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => console.error("page error:", error.message));
  await page.goto(`${rtc.http}/`);
  await page.fill("#api-key", rtc.keys.advanced);
  await page.press("#api-key", "Enter");
  await page.waitForSelector("#apps-table");
});

after(async () => {
  await receiver?.close();
  await rtc?.stop();
});

/** Reads the page and the API until both describe the same slot (the slot moves every 10 s). */
async function sameSlot(readPage, readApi, slotOf) {
  for (let attempt = 0; attempt < 4; attempt++) {
    const shown = await readPage();
    const api = await readApi();
    if (new Date(slotOf(api)).getTime() === Number(shown.slot)) return { shown, api };
    await page.waitForTimeout(1_500);
  }
  throw new Error("the page and the API never described the same slot");
}

test("real time: the breakdown and its rest match the API; the CSV too", async () => {
  await page.goto(`${rtc.http}/#/realtime?app=${simApp}`);
  // The breakdown shows once the slot has someone online; a failure says what the page showed.
  await page.waitForSelector("#breakdown-table").catch(async (e) => {
    await shot("08-realtime-no-breakdown");
    throw new Error(`${e.message}\nthe page said: ${await page.textContent("main")}`);
  });
  await page.selectOption("#breakdown-dimension", { label: "Network" });
  await page.fill("#field-top", "1");
  await page.press("#field-top", "Enter"); // change event: keyboard only
  await page.waitForFunction(() => document.querySelectorAll("#breakdown-table tbody tr").length >= 1 && document.querySelector("#field-top").value === "1");
  await page.waitForTimeout(500);
  const { shown, api } = await sameSlot(
    async () => ({ slot: await page.getAttribute("#breakdown-table", "data-slot"), rows: await page.$$eval("#breakdown-table tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent))) }),
    () => rtc.call(rtc.keys.advanced, "MonitorService", "GetRealtimeBreakdown", { sdkAppId: simApp, dimension: "REALTIME_DIMENSION_NETWORK", top: 1 }),
    (a) => a.slotStart,
  );
  assert.equal(api.values.length, 1);
  assert.equal(shown.rows[0][0], api.values[0].value || "(not reported)");
  assert.equal(Number(shown.rows[0][1].replaceAll(",", "")), api.values[0].figures.onlineUsers ?? 0);
  if (api.valueCount > 1) {
    assert.equal(shown.rows.length, 2);
    assert.match(shown.rows[1][0], new RegExp(`the other ${api.valueCount - 1} value`));
    assert.equal(Number(shown.rows[1][1].replaceAll(",", "")), api.rest.figures.onlineUsers ?? 0);
  }
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#breakdown-csv")]);
  const [header, ...rows] = readFileSync(await download.path(), "utf8").trim().split("\r\n").map((l) => l.split(","));
  assert.deepEqual(header.slice(0, 5), ["slot_start_utc", "dimension", "kind", "value", "online_users"]);
  assert.equal(rows.length, shown.rows.length);
  assert.equal(rows[0][2], "value");
  assert.equal(Number(rows[0][4]), api.values[0].figures.onlineUsers ?? 0);

  // Audio's stall bands are its own, not video's.
  const video = await page.getAttribute("[data-testid=quality-chart]", "data-bands");
  const audio = await page.getAttribute("[data-testid=audio-quality-chart]", "data-bands");
  assert.ok(video && audio && video !== audio, `video ${video} audio ${audio}`);
});

test("real time: the rooms table sorts by each column and pages like ListRealtimeRooms", async () => {
  await page.click("button.sort[data-order='5']"); // Room: ascending first
  await page.waitForSelector("th[aria-sort=ascending] button[data-order='5']");
  const rooms = (r) => (r.rooms ?? []).map((x) => String(x.roomId ?? x.strRoomId));
  const { shown, api } = await sameSlot(
    async () => ({ slot: await page.getAttribute("#rooms-table", "data-slot"), rooms: await page.$$eval("#rooms-table tbody tr td:first-child", (tds) => tds.map((td) => td.textContent)) }),
    () => rtc.call(rtc.keys.advanced, "MonitorService", "ListRealtimeRooms", { sdkAppId: simApp, orderBy: "REALTIME_ROOM_ORDER_ROOM", ascending: true, pageSize: 20 }),
    (a) => a.slotStart,
  );
  assert.deepEqual(shown.rooms, rooms(api));
  await page.click("button.sort[data-order='5']"); // again: descending
  await page.waitForSelector("th[aria-sort=descending] button[data-order='5']");
  const desc = await page.$$eval("#rooms-table tbody tr td:first-child", (tds) => tds.map((td) => td.textContent));
  assert.ok(desc.length > 0 && (shown.rooms.length < 2 || desc[0] !== shown.rooms[0]));

  await page.click("button.sort[data-order='2']"); // abnormal users, largest first
  await page.waitForSelector("th[aria-sort=descending] button[data-order='2']");
  const abnormal = await page.$$eval("#rooms-table tbody tr td:nth-child(3)", (tds) => tds.map((td) => Number(td.textContent)));
  assert.deepEqual(abnormal, [...abnormal].sort((a, b) => b - a));

  if (api.totalSize > 20) {
    await page.click("#rooms-next");
    await page.waitForSelector("#rooms-table[data-page='1']");
    assert.match(await text("[data-testid=rooms-range]"), /^21–/);
    const slot = await page.getAttribute("#rooms-table", "data-slot");
    await page.click("#rooms-first");
    await page.waitForSelector("#rooms-table[data-page='0']");
    assert.ok(Number(await page.getAttribute("#rooms-table", "data-slot")) >= Number(slot));
  } else assert.fail(`only ${api.totalSize} rooms online: paging not exercised`);
  await shot("08-realtime-tables");
});

test("call details: sub-view tabs, the full link's other metrics with their bands, client events on the time axis", async () => {
  const calls = (await rtc.call(rtc.keys.advanced, "MonitorService", "ListCalls", { sdkAppId: simApp, range: "CALL_RANGE_LAST_14_DAYS", pageSize: 50 })).calls;
  const ended = calls.filter((c) => c.endTime !== undefined);
  assert.ok(ended.length > 0, "no ended call");
  let checked = false;
  for (const { callId } of ended.slice(0, 8)) {
    await page.goto(`${rtc.http}/#/calls/${encodeURIComponent(callId)}?app=${simApp}`);
    const here = `[data-call="${callId}"]`;
    const first = await page.waitForSelector(`${here} [data-testid=full-link], ${here} [data-testid=user-view] .notice`, { timeout: 15_000 });
    if ((await first.getAttribute("data-testid")) !== "full-link") continue;
    const view = await page.$eval(`${here}[data-testid=user-view]`, (el) => ({ ...el.dataset }));
    const answer = await rtc.call(rtc.keys.advanced, "MonitorService", "GetUserView", { callId, userId: view.user });
    const side = answer.views.filter((v) => (v.streams ?? []).length > 0)[0];
    // The tabs are the sub-views that have data, in the API's order.
    const tabs = await page.$$eval(`${here} [data-testid=sub-views] [role=tab]`, (b) => b.map((x) => x.textContent.split(" (")[0]));
    const names = { SUB_VIEW_KIND_ALL: "All", SUB_VIEW_KIND_VIDEO: "Video", SUB_VIEW_KIND_AUDIO: "Audio", SUB_VIEW_KIND_SCREEN_SHARE: "Screen share" };
    assert.deepEqual(tabs, side.subViews.map((v) => names[v.kind]));
    // The full link: one chart per other metric the API measured on the pair.
    const stream = side.streams[Number(view.stream)];
    const peer = stream.peerId ?? "";
    const pair = peer === "" ? { userId: view.user, peerId: "" } : side.side === "VIEW_SIDE_RECEIVER" ? { userId: view.user, peerId: peer } : { userId: peer, peerId: view.user };
    const series = (await rtc.call(rtc.keys.advanced, "MonitorService", "GetQualitySeries", { callId, ...pair, media: stream.media, maxPoints: 600 })).series;
    const others = series.filter((x) => !["SERIES_METRIC_PACKET_LOSS", "SERIES_METRIC_BITRATE"].includes(x.metric) && (x.points ?? []).length > 0);
    const drawn = await page.$$eval(`${here} [data-testid=full-link] figure`, (f) => f.map((x) => [x.dataset.metric, Number(x.dataset.points), Number(x.dataset.breaches)]));
    assert.deepEqual(drawn.map((d) => d[0]), others.map((x) => x.metric.replace("SERIES_METRIC_", "")));
    for (const [i, x] of others.entries()) {
      assert.equal(drawn[i][1], x.points.length);
      assert.equal(drawn[i][2], x.points.filter((p) => p.level === "QUALITY_LEVEL_POOR" || p.level === "QUALITY_LEVEL_SEVERE").length);
    }
    // Client events: the API's count, marked on every chart.
    const listed = (await rtc.call(rtc.keys.advanced, "MonitorService", "ListClientEvents", { callId, userId: view.user, pageSize: 1000 })).events ?? [];
    const marks = await page.$$eval(`${here} figure.chart`, (f) => f.map((x) => Number(x.dataset.events)));
    assert.ok(marks.every((m) => m === listed.length), `${marks} vs ${listed.length}`);
    if (listed.length > 0) assert.equal(Number(await page.getAttribute(`${here} [data-testid=client-events]`, "data-count")), listed.length);
    // Another sub-view: its streams only.
    const audio = side.subViews.find((v) => v.kind === "SUB_VIEW_KIND_AUDIO");
    if (audio && side.subViews.length > 1) {
      await page.click(`${here} [data-testid=sub-views] [data-kind='3']`);
      await page.waitForSelector(`${here}[data-sub-view='3'] [data-testid=full-link], ${here}[data-sub-view='3'] [data-testid=user-view] .notice`);
      const options = await page.$$eval("#stream-select option", (o) => o.map((x) => x.textContent));
      assert.ok(options.length > 0 && options.every((o) => o.endsWith("· audio")), options.join());
    }
    await shot("14-call-full-link");
    checked = true;
    break;
  }
  assert.ok(checked, "no ended call had a full link to check");
});

/** Another browser's tab signed in with the advanced account's key (no TOTP token held). */
async function secondTab() {
  const tab = await (await rtc.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await tab.goto(`${rtc.http}/`);
  await tab.fill("#api-key", rtc.keys.advanced);
  await tab.press("#api-key", "Enter");
  await tab.waitForSelector("#apps-table");
  return tab;
}

/** The seconds a countdown shows now and ~2 s later: it ticks without a re-read. */
async function ticks(selector) {
  const first = Number(await page.getAttribute(selector, "data-left"));
  await page.waitForTimeout(2_100);
  const later = Number(await page.getAttribute(selector, "data-left"));
  assert.ok(first >= 3 && later < first, `${selector}: ${first} s, then ${later} s`);
}

let lifeApp;
let otpauth;
let tab;

test("an app: info, a rename, a tag attached and detached, a disable confirmed by TOTP and followed until it takes effect", async () => {
  const app = (await rtc.call(rtc.keys.advanced, "AppService", "CreateApp", { name: "life_app" })).app;
  lifeApp = app;
  await page.goto(`${rtc.http}/#/apps`);
  await page.click(`a.open-app[href="#/apps/${app.sdkAppId}"]`);
  await page.waitForSelector("#app-facts");
  assert.match(await text("#app-facts"), new RegExp(`${app.sdkAppId}[\\s\\S]*life_app[\\s\\S]*Normal`));

  // UpdateApp: a name outside R2's alphabet is refused under its field; a good one is saved.
  await page.fill("#field-app-name", "bad name!");
  await page.click("#app-rename-save");
  await page.waitForFunction(() => document.querySelector("#error-app-name")?.textContent !== "");
  assert.equal(await page.getAttribute("#field-app-name", "aria-invalid"), "true");
  await page.fill("#field-app-name", "life_app2");
  await page.fill("#field-app-description", "renamed");
  await page.press("#field-app-description", "Enter");
  await page.waitForFunction(() => /life_app2[\s\S]*renamed/.test(document.querySelector("#app-facts")?.textContent ?? ""));
  const renamed = (await rtc.call(rtc.keys.advanced, "AppService", "GetApp", { sdkAppId: app.sdkAppId })).app;
  assert.deepEqual([renamed.name, renamed.description], ["life_app2", "renamed"]);

  await page.fill("#field-key", "team");
  await page.fill("#field-value", "web");
  await page.press("#field-value", "Enter");
  await page.waitForSelector("#app-tag-list");
  assert.match(await text("#app-tag-list"), /team: web/);
  assert.deepEqual((await rtc.call(rtc.keys.advanced, "AppService", "GetApp", { sdkAppId: app.sdkAppId })).app.tags, [{ key: "team", value: "web" }]);
  await page.click("button[aria-label='Detach team: web']");
  await page.waitForFunction(() => !document.querySelector("#app-tag-list"));
  assert.equal((await rtc.call(rtc.keys.advanced, "AppService", "GetApp", { sdkAppId: app.sdkAppId })).app.tags, undefined);

  await page.click("#app-disable");
  await page.waitForSelector("[data-testid=totp-step]");
  await page.fill("#field-totp_code", "12a456"); // not six digits: the field's violation, not counted
  await page.press("#field-totp_code", "Enter");
  await page.waitForFunction(() => document.querySelector("#error-totp_code")?.textContent !== "");
  assert.equal(await page.getAttribute("#field-totp_code", "aria-invalid"), "true");
  await page.click("#totp-enrol");
  const uri = await page.inputValue("#otpauth-uri");
  otpauth = uri;
  assert.match(uri, /^otpauth:\/\/totp\//);
  await page.fill("#field-totp_code", totpNow(uri));
  await page.press("#field-totp_code", "Enter");
  await page.waitForSelector("[data-testid=operation] [data-state=pending]");
  assert.match(await text("[data-testid=operation]"), /Takes effect[\s\S]*\(in \d/);
  assert.match(await text("#app-facts"), /disabling pending/);
  assert.ok(await page.isDisabled("#app-disable"));
  await ticks("[data-testid=operation] .countdown");
  await shot("09-app-pending");
  await page.waitForSelector("[data-testid=operation] [data-state=succeeded]", { timeout: 30_000 });
  await page.waitForSelector("#app-facts[data-status=stopped]");
  assert.match(await text("#app-facts"), /Stopped: disabled by the owner/);
  assert.equal((await rtc.call(rtc.keys.advanced, "AppService", "GetApp", { sdkAppId: app.sdkAppId })).app.status, "APP_STATUS_STOPPED");
  await page.waitForSelector("#app-enable");
  await noSidewaysScroll("app details");
  await shot("10-app-disabled");

  // A second tab opened now still offers Delete once the first has asked for Enable.
  tab = await secondTab();
  await tab.goto(`${rtc.http}/#/apps/${app.sdkAppId}`);
  await tab.waitForSelector("#app-delete");

  // The token is held for 30 minutes: enable needs no second code.
  await page.click("#app-enable");
  await page.waitForSelector("[data-testid=operation] [data-state=pending]");
  assert.equal(await page.$("[data-testid=totp-step]"), null);
});

test("an app: a second transition while one is pending is refused as the API says; then a delete, confirmed by TOTP, takes effect", async () => {
  // The other tab holds no token: its Delete asks for a code (the next step's: a code is
  // accepted once, and the first tab used this step's), then the API refuses the delete.
  await tab.click("#app-delete");
  await tab.waitForSelector("[data-testid=totp-step]");
  await tab.fill("#field-totp_code", totpNow(otpauth, Date.now() + 30_000));
  await tab.press("#field-totp_code", "Enter");
  const refused = await tab.waitForSelector("[data-testid=step] .notice.error");
  assert.match(await refused.textContent(), /FAILED_PRECONDITION[\s\S]*APP_TRANSITION_PENDING/);
  await tab.screenshot({ path: join(OUTPUT, "15-app-refused.png"), fullPage: true });

  // The enable takes effect; the first tab disables again (token held), then the other
  // deletes with the token its TOTP step gave it.
  await page.waitForSelector("[data-testid=operation] [data-state=succeeded]", { timeout: 30_000 });
  await page.waitForSelector("#app-facts[data-status=normal]");
  await page.click("#app-disable");
  await page.waitForSelector("[data-testid=operation] [data-state=pending]");
  await page.waitForSelector("#app-enable", { timeout: 30_000 });
  await tab.click("#app-delete");
  await tab.waitForSelector("[data-testid=operation] [data-state=pending]");
  assert.equal(await tab.$("[data-testid=totp-step]"), null);
  assert.match(await tab.textContent("[data-testid=operation]"), /delete/);
  await tab.waitForFunction(() => /No application/.test(document.querySelector("[data-testid=app-info]")?.textContent ?? ""), null, { timeout: 30_000 });
  await assert.rejects(rtc.call(rtc.keys.advanced, "AppService", "GetApp", { sdkAppId: lifeApp.sdkAppId }), /404|NOT_FOUND|not_found/);
  await tab.context().close();
});

test("function settings: a refused precondition explained, a pending change until it takes effect", async () => {
  await page.goto(`${rtc.http}/#/settings?app=${simApp}`);
  await page.waitForSelector("[data-testid=relayed-push]");
  await page.check("#field-push-enabled");
  await page.click("[data-testid=relayed-push] button[type=submit]");
  await page.waitForSelector("[data-testid=relayed-push] .notice.error");
  assert.match(await text("[data-testid=relayed-push] .notice.error"), /FAILED_PRECONDITION[\s\S]*CSS_SERVICE_INACTIVE/);

  rtc.admin("account", "services", "web_ops", "--css", "on", "--vod", "on");
  await page.click("[data-testid=relayed-push] button[type=submit]");
  await page.waitForFunction(() => document.querySelector("[data-testid=push-state]")?.dataset.pending?.startsWith("on"));
  assert.match(await text("[data-testid=push-state]"), /In effect: off[\s\S]*Pending: on, specified streams · takes effect .*\(in \d/);
  const config = (await rtc.call(rtc.keys.advanced, "ConfigService", "GetAppConfig", { sdkAppId: simApp })).config;
  assert.equal(config.relayedPush.pending.enabled, true);
  await ticks("[data-testid=push-state] .countdown");
  await shot("11-settings-pending");

  // The screen reads the settings again when the change is due: no reload.
  await page.waitForFunction(() => document.querySelector("[data-testid=push-state]")?.dataset.pending === "", null, { timeout: 30_000 });
  assert.match(await text("[data-testid=push-state]"), /In effect: on, specified streams/);
});

test("callbacks: a URL field error, the test callback's answer and the delivery log", async () => {
  await page.fill("#field-cb-room_event_url", "ftp://example.com/x");
  await page.click("[data-testid=callbacks] button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#error-cb-room_event_url")?.textContent !== "");
  assert.equal(await page.getAttribute("#field-cb-room_event_url", "aria-invalid"), "true");

  await page.fill("#field-cb-room_event_url", receiver.url);
  await page.fill("#field-cb-key", "abcdEFGH12345678wxyz");
  await page.click("[data-testid=callbacks] button[type=submit]");
  await page.waitForFunction(() => /set \(…wxyz\)/.test(document.querySelector("[data-testid=cb-state]")?.textContent ?? ""));
  await page.click("#test-room");
  await page.waitForSelector("[data-testid=test-answer][data-status='200']");
  assert.match(await text("[data-testid=test-answer]"), /HTTP 200/);
  assert.equal(await text("[data-testid=test-response]"), "ok from the test");

  // Live room events now go to the receiver: the log lists them as the API does.
  let listed = [];
  for (let i = 0; i < 20 && listed.length === 0; i++) {
    await page.waitForTimeout(1_000);
    listed = (await rtc.call(rtc.keys.advanced, "ConfigService", "ListCallbackDeliveries", { sdkAppId: simApp, pageSize: 20 })).deliveries ?? [];
  }
  assert.ok(listed.length > 0, "no delivery within 20 s");
  await page.click("#deliveries-reload");
  await page.waitForSelector("#deliveries-table tbody tr");
  const rows = await page.locator("#deliveries-table tbody tr").count();
  assert.ok(rows >= 1 && rows <= 20);
  assert.match(await text("#deliveries-table"), /room 10\d/);
  await noSidewaysScroll("settings");
  await shot("12-settings-callbacks");
});

test("usage: totals with line minutes beside settled minutes, as GetUsage says; billing state", async () => {
  // The aggregator runs every 3 s here: wait until the simulated usage is rolled up.
  const range = () => {
    const end = Math.ceil(Date.now() / 300_000) * 300_000;
    return { startTime: new Date(end - 24 * 3_600_000).toISOString(), endTime: new Date(end).toISOString() };
  };
  let usage;
  for (let i = 0; i < 30; i++) {
    usage = await rtc.call(rtc.keys.advanced, "UsageService", "GetUsage", { kind: "USAGE_KIND_INTERACTIVE_AV", sdkAppId: simApp, ...range() });
    if ((usage.totals ?? []).length > 0) break;
    await page.waitForTimeout(1_000);
  }
  assert.ok((usage.totals ?? []).length > 0, "no usage rolled up");
  await page.goto(`${rtc.http}/#/usage?app=${simApp}`);
  await page.waitForSelector("[data-testid=usage-av] table.totals");
  await page.waitForSelector("[data-testid=billing]");
  const api = await rtc.call(rtc.keys.advanced, "UsageService", "GetUsage", { kind: "USAGE_KIND_INTERACTIVE_AV", sdkAppId: simApp, ...range() });
  const shown = await page.$$eval("[data-testid=usage-av] table.totals tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.replaceAll(",", ""))));
  // Live usage keeps arriving: the page's total lies between the first read and the last.
  const settled = (u) => (u.totals ?? []).reduce((a, t) => a + Number(t.settledMinutes ?? 0), 0);
  const all = shown[shown.length - 1];
  assert.equal(all[0], "All");
  assert.ok(settled(usage) <= Number(all[3]) && Number(all[3]) <= settled(api), `${settled(usage)} <= ${all[3]} <= ${settled(api)}`);
  assert.ok(Number(all[2]) >= Number(all[3]), "line minutes are never fewer than settled minutes");
  assert.match(await text("[data-testid=billing]"), /Package state/);
  await page.click("[data-testid=usage-av] summary");
  await noSidewaysScroll("usage");
  await shot("13-usage");
});
