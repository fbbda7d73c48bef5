/**
 * A real `rtc-console serve` for the tests: a fresh SQLite file, port 0 for gRPC and for the
 * HTTP door, accounts made with `rtc-console admin account create` on the same file.
 */

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file runs from clients/node/dist/test/support/). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../..");
/** `rtc-console` of the project's venv, or `$RTC_CONSOLE_BIN`. */
export const RTC_CONSOLE = process.env["RTC_CONSOLE_BIN"] ?? join(REPO, ".venv", "bin", "rtc-console");

const GRPC_LINE = /rtc-console listening on (\S+)/;
const HTTP_LINE = /http door on (http:\/\/\S+)/;

export interface Account {
  accountId: number;
  apiKey: string;
}

export interface Server {
  /** `HOST:PORT` of the gRPC listener. */
  grpc: string;
  /** `http://HOST:PORT` of the HTTP door, or `undefined` when its log line did not come. */
  http: string | undefined;
  dataPlaneToken: string;
  databaseUrl: string;
  /** The accounts asked for, by name. */
  accounts: Readonly<Record<string, Account>>;
  /** The server's log so far (stdout and stderr). */
  log(): string;
  stop(): Promise<void>;
}

function cli(databaseUrl: string, ...args: string[]): string {
  // stderr is kept out of the test report (notes such as "this command created the store"); a
  // failure still shows it: execFileSync's error carries it.
  return execFileSync(RTC_CONSOLE, [...args, "--database-url", databaseUrl], {
    encoding: "utf8",
    timeout: 60_000,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function waitFor(
  child: ChildProcess,
  output: () => string,
  pattern: RegExp,
  timeoutMs: number,
): Promise<string | undefined> {
  return new Promise((resolvePromise) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const found = pattern.exec(output());
      if (found || child.exitCode !== null || Date.now() - started > timeoutMs) {
        clearInterval(poll);
        resolvePromise(found?.[1]);
      }
    }, 25);
  });
}

/** Account name → its dashboard edition (R21; `free` is the default). */
export type Editions = Record<string, "free" | "basic" | "advanced">;

function createAccount(databaseUrl: string, name: string, edition: Editions[string]): Account {
  const created = JSON.parse(cli(databaseUrl, "admin", "account", "create", name, "--json")) as {
    account_id: number;
    api_key: string;
  };
  if (edition !== "free") cli(databaseUrl, "admin", "account", "edition", name, edition);
  return { accountId: created.account_id, apiKey: created.api_key };
}

/**
 * Create the accounts (`admin account create NAME --json`, then `admin account edition`), then
 * start the server; resolves once its gRPC line is logged (60 s at most) and, then, the HTTP
 * door's line (5 s more at most; `http` stays undefined if it never comes).
 */
export async function startServer(editions: Editions): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "rtc-node-"));
  const databaseUrl = `sqlite:///${join(dir, "console.db")}`;
  const dataPlaneToken = "node-test-data-plane-token";
  const accounts = Object.fromEntries(
    Object.entries(editions).map(([name, edition]) => [name, createAccount(databaseUrl, name, edition)]),
  );
  let output = "";
  const child = spawn(
    RTC_CONSOLE,
    [
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--http-listen",
      "127.0.0.1:0",
      "--database-url",
      databaseUrl,
      "--data-plane-token",
      dataPlaneToken,
      "--grace-seconds",
      "1",
      "--callback-allow-loopback",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const grpc = await waitFor(child, () => output, GRPC_LINE, 60_000);
  if (grpc === undefined) {
    child.kill("SIGKILL");
    throw new Error(`rtc-console serve did not start:\n${output}`);
  }
  const http = await waitFor(child, () => output, HTTP_LINE, 5_000);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  return {
    grpc,
    http,
    dataPlaneToken,
    databaseUrl,
    accounts,
    log: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
