// Rebuilds the console into a temporary directory and compares it, file by file, with the
// bundle committed under services/rtcconsole_server/gateway/web (like scripts/generate.py
// --check for the generated code). Exit 1 and a list of differences when it is stale.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL("..", import.meta.url));
const committed = join(here, "../../services/rtcconsole_server/gateway/web");
const fresh = mkdtempSync(join(tmpdir(), "rtc-web-"));

const files = (dir) =>
  statSync(dir, { throwIfNoEntry: false })?.isDirectory()
    ? readdirSync(dir, { recursive: true }).filter((f) => statSync(join(dir, f)).isFile()).map(String).sort()
    : [];

try {
  execFileSync(join(here, "node_modules/.bin/vite"), ["build", "--logLevel", "warn"], {
    cwd: here,
    env: { ...process.env, RTC_WEB_OUT_DIR: fresh },
    stdio: "inherit",
  });
  const want = files(fresh);
  const have = files(committed);
  const problems = [
    ...want.filter((f) => !have.includes(f)).map((f) => `missing: ${f}`),
    ...have.filter((f) => !want.includes(f)).map((f) => `not built from source: ${f}`),
    ...want.filter((f) => have.includes(f) && !readFileSync(join(fresh, f)).equals(readFileSync(join(committed, f)))).map((f) => `differs: ${f}`),
  ];
  if (problems.length > 0) {
    console.error(`the committed web bundle (${relative(process.cwd(), committed)}) is stale:\n  ${problems.join("\n  ")}`);
    console.error("rebuild it: (cd clients/web && npm ci && npm run build)");
    process.exit(1);
  }
  console.log(`web bundle up to date (${want.length} files)`);
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
