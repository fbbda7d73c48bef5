/** The package's entry points resolve by name (Node's self-reference through `exports`). */

import assert from "node:assert/strict";
import { test } from "node:test";

test("@rtc-console/client and @rtc-console/client/v1 resolve to the built modules", async () => {
  const names = ["@rtc-console/client", "@rtc-console/client/v1"]; // in variables: tsc must not resolve them
  const [main, v1] = (await Promise.all(names.map((name) => import(name)))) as Record<string, unknown>[];
  for (const name of [
    "createConsole",
    "createIngest",
    "paginate",
    "inBatches",
    "fromConnectError",
    "InvalidArgument",
  ]) {
    assert.equal(typeof main?.[name], "function", name);
  }
  for (const name of ["generateUserSig", "verifyPrivateMapKey", "verifySignature", "parseEvent"]) {
    assert.equal(typeof main?.[name], "function", name);
  }
  assert.equal((v1?.["AppService"] as { typeName: string }).typeName, "rtcconsole.v1.AppService");
  assert.equal(
    main?.["v1"] !== undefined && (main["v1"] as Record<string, unknown>)["AppService"],
    v1?.["AppService"],
  );
});
