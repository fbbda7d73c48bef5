// More of the console in a real headless Chromium against a real server fed by the simulator:
// call details with calls of up to 14 users (presence intervals, "show up to 20 users", the
// sender view), the call list's custom range, usage of recording with a granularity and a
// range refused under its field, the tag catalog, and an app's materials (R9).
// Screenshots go to clients/web/test-output/.
import assert from "node:assert/strict";
import { deflateSync, crc32 } from "node:zlib";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { OUTPUT, startConsole } from "./harness.mjs";

let rtc;
let bigApp;
let page;

const shot = (name) => page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: true });
const call = (service, method, body) => rtc.call(rtc.keys.advanced, service, method, body);
const iso = (t) => (t === undefined ? undefined : new Date(t).toISOString());

before(async () => {
  rtc = await startConsole();
  bigApp = (await call("AppService", "CreateApp", { name: "big_calls" })).app.sdkAppId;
  await rtc.simulate(bigApp, { backfill: "40m", rooms: 3, maxUsers: 14 });
  page = await rtc.browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => console.error("page error:", error.message));
  await page.goto(`${rtc.http}/`);
  await page.fill("#api-key", rtc.keys.advanced);
  await page.press("#api-key", "Enter");
  await page.waitForSelector("#apps-table");
});

after(async () => {
  await rtc?.stop();
});

test("call details: up to 20 users on request, each with its presence intervals (R18); the sender view", async () => {
  const calls = (await call("MonitorService", "ListCalls", { sdkAppId: bigApp, range: "CALL_RANGE_LAST_14_DAYS", pageSize: 50 })).calls;
  const big = calls.filter((c) => c.endTime !== undefined).sort((a, b) => b.userCount - a.userCount)[0];
  assert.ok(big && big.userCount > 6, `the largest ended call has ${big?.userCount} users`);
  const here = `[data-call="${big.callId}"]`;
  await page.goto(`${rtc.http}/#/calls/${encodeURIComponent(big.callId)}?app=${bigApp}`);
  await page.waitForSelector(`${here} #users-table tbody tr`);
  assert.equal(await page.locator(`${here} #users-table tbody tr`).count(), 6);
  await page.click("#users-more");
  const want = Math.min(20, big.userCount);
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(`${sel} #users-table tbody tr`).length === n, [here, want]);
  assert.equal(await page.$("#users-more"), null);

  // Each row's stays are ListCallUsers' presence intervals, entry and exit.
  const users = (await call("MonitorService", "ListCallUsers", { callId: big.callId, pageSize: 20 })).users;
  const shown = await page.$$eval(`${here} #users-table tbody tr`, (trs) =>
    trs.map((tr) => ({ user: tr.cells[0].textContent, stays: [...tr.querySelectorAll("ul.presence li")].map((li) => [...li.querySelectorAll("time")].map((t) => t.getAttribute("datetime"))) })),
  );
  assert.deepEqual(shown.map((s) => s.user), users.map((u) => u.userId));
  for (const [i, u] of users.entries()) {
    const stays = (u.presence ?? []).map((p) => [iso(p.enterTime), iso(p.exitTime)].filter(Boolean));
    assert.ok(stays.length > 0, `${u.userId} has no stay`);
    assert.deepEqual(shown[i].stays, stays, u.userId);
  }
  await shot("16-call-users-20");

  // The sender view of a user who sent: its streams are the user's upstream and its receivers.
  let sender;
  for (const u of users.filter((x) => x.upstream)) {
    const view = await call("MonitorService", "GetUserView", { callId: big.callId, userId: u.userId });
    const side = view.views.find((v) => v.side === "VIEW_SIDE_SENDER" && (v.streams ?? []).length > 0);
    if (side) {
      sender = { user: u.userId, side, receiver: view.views.some((v) => v.side === "VIEW_SIDE_RECEIVER" && (v.streams ?? []).length > 0) };
      break;
    }
  }
  assert.ok(sender, "no user of the call has a sender view");
  // The first view shown is set (data-user) in the same turn as it is drawn.
  await page.waitForSelector(`${here}[data-testid=user-view][data-user] [data-testid=sub-views]`);
  if ((await page.getAttribute(`${here}[data-testid=user-view]`, "data-user")) !== sender.user) {
    await page.locator(`${here} button.user-pick`, { hasText: new RegExp(`^${sender.user}$`) }).click();
    await page.waitForSelector(`${here}[data-user="${sender.user}"] [data-testid=sub-views]`);
  }
  if (sender.receiver) await page.click(`${here} [role=tablist][aria-label=Side] button:has-text("Sender view")`);
  await page.waitForSelector(`${here}[data-user="${sender.user}"][data-side='2'] [data-testid=quality-chart]`);
  const options = await page.$$eval("#stream-select option", (o) => o.map((x) => x.textContent));
  const expected = sender.side.streams.map((s) => (s.peerId ? `${sender.user} → ${s.peerId}` : `${sender.user}'s upstream`));
  assert.ok(options.length > 0 && options.every((o) => expected.some((e) => o.startsWith(`${e} · `))), `${options} vs ${expected}`);
  if ((await page.getAttribute(`${here}[data-testid=user-view]`, "data-sub-view")) === "1") assert.equal(options.length, expected.length);
  assert.equal(await page.getAttribute(`${here} [role=tab][aria-selected=true]:has-text("Sender view")`, "role"), "tab");
  await shot("17-call-sender-view");
});

/** `2024-05-01T14:05` in the browser's zone, and its instant, for `ms` from now. */
const localInput = (offsetsMs) =>
  page.evaluate((offsets) => {
    const p = (n) => String(n).padStart(2, "0");
    return offsets.map((o) => {
      const d = new Date(Date.now() + o);
      const text = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
      return { text, ms: new Date(text).getTime() };
    });
  }, offsetsMs);

test("the call list: a custom range as ListCalls answers it; a range refused under its field", async () => {
  await page.goto(`${rtc.http}/#/calls?app=${bigApp}`);
  await page.waitForSelector("[data-testid=call-list][data-query]");
  const [from, to] = await localInput([-45 * 60_000, 2 * 60_000]);
  await page.fill("#field-start_time", from.text);
  await page.fill("#field-end_time", to.text);
  await page.click("#calls-custom");
  await page.waitForSelector(`[data-testid=call-list][data-query*="from="]`);
  assert.equal(await page.$(".presets [aria-checked=true]"), null);
  const api = (await call("MonitorService", "ListCalls", { sdkAppId: bigApp, startTime: iso(from.ms), endTime: iso(to.ms), pageSize: 50 })).calls ?? [];
  const rooms = await page.$$eval("#calls-table tbody tr td:first-child", (tds) => tds.map((td) => td.textContent));
  assert.ok(api.length > 0);
  assert.deepEqual(rooms, api.map((c) => String(c.roomId ?? c.strRoomId)));
  const status = await page.textContent("main .notice.info");
  assert.match(status, new RegExp(`${api.length} shown`));

  // An end before the start: the API's violation stands under To.
  const [later, earlier] = await localInput([-10 * 60_000, -20 * 60_000]);
  await page.fill("#field-start_time", later.text);
  await page.fill("#field-end_time", earlier.text);
  await page.click("#calls-custom");
  await page.waitForFunction(() => document.querySelector("#error-end_time")?.textContent !== "");
  assert.match(await page.textContent("#error-end_time"), /after start_time/);
  assert.equal(await page.getAttribute("#field-end_time", "aria-invalid"), "true");
  await shot("18-calls-custom-range");
});

test("usage: cloud recording beside audio/video as GetUsage says, by the granularity chosen; a refused range under its field", async () => {
  const end = Math.ceil(Date.now() / 300_000) * 300_000;
  const range = { startTime: iso(end - 24 * 3_600_000), endTime: iso(end) };
  await page.goto(`${rtc.http}/#/usage?app=${bigApp}`);
  await page.waitForSelector("[data-testid=usage-recording]");
  await page.selectOption("#field-granularity", { label: "hour" });
  await page.click("form.usage-form button[type=submit]");
  await page.waitForFunction(() => /by hour/.test(document.querySelector("[data-testid=usage-av] .help")?.textContent ?? ""));
  for (const [kind, testid] of [["USAGE_KIND_CLOUD_RECORDING", "usage-recording"], ["USAGE_KIND_INTERACTIVE_AV", "usage-av"]]) {
    const api = await call("UsageService", "GetUsage", { kind, sdkAppId: bigApp, granularity: "GRANULARITY_HOUR", ...range });
    assert.equal(api.granularity, "GRANULARITY_HOUR");
    const section = `[data-testid=${testid}]`;
    assert.match(await page.textContent(`${section} .help`), /by hour/);
    // Lines accrue as the aggregator rolls usage up: the page's are at most the API's, by hour.
    assert.ok(Number(await page.getAttribute(section, "data-lines")) <= (api.lines ?? []).length);
    // Hourly lines: at most an hour each, on the hour at one end at least (the range's and the
    // roll-up's edges clip the first and the last).
    for (const l of api.lines ?? []) {
      const [s, e] = [new Date(l.periodStart).getTime(), new Date(l.periodEnd).getTime()];
      assert.ok(e > s && e - s <= 3_600_000 && (s % 3_600_000 === 0 || e % 3_600_000 === 0), `${l.periodStart}–${l.periodEnd}`);
    }
    if ((api.totals ?? []).length === 0) assert.match(await page.textContent(section), /No usage in this range/);
  }
  const [to, from] = await localInput([-3 * 3_600_000, -2 * 3_600_000]);
  await page.fill("#field-start_time", from.text);
  await page.fill("#field-end_time", to.text);
  await page.click("form.usage-form button[type=submit]");
  await page.waitForFunction(() => ["#error-start_time", "#error-end_time"].some((s) => document.querySelector(s)?.textContent !== ""));
  const invalid = await page.$$eval("[aria-invalid=true]", (els) => els.map((e) => e.id));
  assert.ok(invalid.some((id) => id === "field-start_time" || id === "field-end_time"), invalid.join());
  await shot("19-usage-range-error");
});

test("the tag catalog: add a pair, filter by key, a delete refused while an app carries it, then deleted", async () => {
  await page.goto(`${rtc.http}/#/tags`);
  await page.waitForSelector("[data-testid=tag-catalog] #tags-table, [data-testid=tag-catalog] .notice");
  await page.fill("#field-tag-key", "env");
  await page.fill("#field-tag-value", "prod");
  await page.press("#field-tag-value", "Enter");
  await page.waitForFunction(() => /env\s*prod/.test(document.querySelector("#tags-table")?.textContent ?? ""));
  await call("AppService", "CreateTag", { tag: { key: "team", value: "web" } });
  await call("AppService", "AddAppTags", { sdkAppId: bigApp, tags: [{ key: "env", value: "prod" }] });
  await page.fill("#tag-filter", "env");
  await page.press("#tag-filter", "Enter");
  await page.waitForSelector("[data-testid=tag-catalog][data-key=env] #tags-table[data-count='1']");
  assert.match(await page.textContent("#tags-table"), /env\s*prod\s*big_calls/);
  const listed = (await call("AppService", "ListTags", { key: "env" })).tags;
  assert.deepEqual(listed, [{ key: "env", value: "prod" }]);

  await page.click("button[aria-label='Delete env: prod']");
  const refused = await page.waitForSelector("main .notice.error");
  assert.match(await refused.textContent(), /FAILED_PRECONDITION|carr|attached|in use/i);
  await shot("20-tag-catalog");
  await call("AppService", "RemoveAppTags", { sdkAppId: bigApp, tags: [{ key: "env", value: "prod" }] });
  await page.click("button[aria-label='Delete env: prod']");
  await page.waitForFunction(() => /Deleted env: prod/.test(document.querySelector("main")?.textContent ?? ""));
  assert.equal((await call("AppService", "ListTags", { key: "env" })).tags, undefined);
});

/** A `width`×`height` RGB PNG (one filter byte a row, zlib-compressed), as an image tool writes. */
function png(width, height) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.concat(Array.from({ length: height }, (_, y) => Buffer.from([0, ...Array.from({ length: width * 3 }, (_, i) => (i * 40 + y * 90) % 256)])));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", header), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}

test("materials (R9): a file that is no image refused under its field; a PNG added and listed as the API lists it, then deleted", async () => {
  await page.goto(`${rtc.http}/#/apps/${bigApp}`);
  await page.waitForSelector("[data-testid=materials] form");
  await page.setInputFiles("#field-mat-content", { name: "notes.txt", mimeType: "image/png", buffer: Buffer.from("not an image at all") });
  await page.click("#material-save");
  await page.waitForFunction(() => document.querySelector("#error-mat-content")?.textContent !== "");
  assert.match(await page.textContent("#error-mat-content"), /PNG or JPEG/);

  await page.setInputFiles("#field-mat-content", { name: "logo.png", mimeType: "image/png", buffer: png(24, 16) });
  await page.fill("#field-mat-name", "logo");
  await page.fill("#field-mat-x_position", "10");
  await page.fill("#field-mat-y_position", "20");
  await page.click("#material-save");
  await page.waitForSelector("#materials-table[data-count='1']");
  const [m] = (await call("AppService", "ListMaterials", { sdkAppId: bigApp })).materials;
  assert.deepEqual([m.name, m.format, m.width, m.height, m.xPosition, m.yPosition], ["logo", "IMAGE_FORMAT_PNG", 24, 16, 10, 20]);
  const row = await page.$$eval("#materials-table tbody td", (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(row.slice(0, 6), [String(m.materialId), "logo", "PNG", "24 × 16", "10, 20", String(m.sizeBytes)]);
  await shot("21-materials");
  await page.click(`button[aria-label='Delete material ${m.materialId}']`);
  await page.waitForFunction(() => !document.querySelector("#materials-table"));
  assert.equal((await call("AppService", "ListMaterials", { sdkAppId: bigApp })).materials, undefined);
});
