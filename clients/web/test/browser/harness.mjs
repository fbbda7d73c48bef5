// A real rtc-console for the browser tests: a fresh SQLite store, `serve` on port 0 (gRPC and
// the HTTP door), accounts made with `admin account create`, data from `simulate`, and a
// headless Debian Chromium driven by playwright-core (no browser download).
import { execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
export const OUTPUT = fileURLToPath(new URL("../../test-output/", import.meta.url));
const CLI = process.env.RTC_CONSOLE_BIN ?? join(ROOT, ".venv/bin/rtc-console");
export const CHROMIUM = process.env.RTC_CHROMIUM ?? "/usr/bin/chromium";
const TOKEN = "browser-test-token";

/** Waits until `pattern` appears in the child's stderr+stdout, up to `ms`. */
function waitForLog(child, pattern, ms) {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms; log:\n${seen}`)), ms);
    const onData = (chunk) => {
      seen += chunk;
      const match = seen.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`exited with ${code} before ${pattern}; log:\n${seen}`)));
  });
}

export async function startConsole() {
  const dir = mkdtempSync(join(tmpdir(), "rtc-web-test-"));
  const database = `sqlite:///${join(dir, "x.db")}`;
  const account = (name, edition) => {
    const key = execFileSync(CLI, ["admin", "account", "create", name, "-q", "--database-url", database], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
    if (edition) execFileSync(CLI, ["admin", "account", "edition", name, edition, "--database-url", database], { stdio: "ignore" });
    return key;
  };
  const keys = { advanced: account("web_ops", "advanced"), free: account("web_free") };
  // Delays shortened so that a test sees a pending lifecycle operation or settings change take
  // effect (R7, R11), usage rolled up (R16) and callbacks reach a receiver on this machine.
  const fast = [
    "--worker-interval-seconds", "1", "--operation-delay-seconds", "8", "--config-delay-seconds", "8",
    "--aggregation-interval-seconds", "3", "--aggregation-watermark-seconds", "0", "--callback-allow-loopback",
  ];
  const server = spawn(CLI, ["serve", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--database-url", database, "--data-plane-token", TOKEN, ...fast], { stdio: ["ignore", "pipe", "pipe"] });
  server.stdout.setEncoding("utf8");
  server.stderr.setEncoding("utf8");
  const [door, grpc] = await Promise.all([waitForLog(server, /http door on (http:\/\/[\d.]+:\d+)/, 30_000), waitForLog(server, /listening on ([\d.]+:\d+)/, 30_000)]);
  const http = door[1];
  const children = [server];

  /** A Connect JSON call on the door, as the account of `key`. */
  const call = async (key, service, method, body = {}) => {
    const res = await fetch(`${http}/rtcconsole.v1.${service}/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  /** `simulate` for the app: a backfill, and with `live` reporting at real time until stopped. */
  const simulate = async (sdkAppId, { backfill = "30m", live = false, rooms = 4, maxUsers = undefined } = {}) => {
    const args = ["simulate", "--target", grpc[1], "--token", TOKEN, "--sdk-app-id", String(sdkAppId), "--seed", "7", "--rooms", String(rooms), "--backfill", backfill];
    if (maxUsers !== undefined) args.push("--max-users", String(maxUsers)); // calls of up to 20 users
    if (!live) {
      execFileSync(CLI, args, { stdio: "ignore" });
      return;
    }
    const child = spawn(CLI, [...args, "--live"], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    children.push(child);
    await waitForLog(child, /sent [\d,]+/, 60_000); // the backfill's summary: live reporting follows
  };

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  mkdirSync(OUTPUT, { recursive: true });

  const stop = async () => {
    await browser.close().catch(() => {});
    for (const child of children.reverse()) {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((resolve) => {
          const timer = setTimeout(() => (child.kill("SIGKILL"), resolve()), 10_000);
          child.once("exit", () => (clearTimeout(timer), resolve()));
        });
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  /** `rtc-console admin …` on the test's store (e.g. the account's CSS and VOD services). */
  const admin = (...args) => execFileSync(CLI, ["admin", ...args, "--database-url", database], { encoding: "utf8" });
  return { http, grpc: grpc[1], keys, call, simulate, admin, browser, stop };
}

/** The current RFC 6238 code (SHA-1, 6 digits, 30 s) of an otpauth:// URI, as an authenticator app shows it. */
export function totpNow(otpauthUri, atMs = Date.now()) {
  const secret = new URL(otpauthUri).searchParams.get("secret").replace(/=+$/, "").toUpperCase();
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 30_000)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

/** An HTTP receiver of callbacks on 127.0.0.1: answers 200 "ok from the test", records bodies. */
export async function callbackReceiver() {
  const bodies = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      bodies.push(body);
      res.writeHead(200, { "content-type": "text/plain" }).end("ok from the test");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/cb`, bodies, close: () => new Promise((r) => server.close(r)) };
}
