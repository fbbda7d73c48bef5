/**
 * The API the console uses: the same services as every client, over the Connect protocol on
 * the HTTP door that served this page (connect-web; binary protobuf). The API key is kept in
 * this tab's sessionStorage only: sent as `authorization: Bearer …`, never put in a URL, never
 * logged; closing the tab forgets it.
 */

import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AppService } from "../../node/src/gen/rtcconsole/v1/app_service_pb.js";
import { AuthService } from "../../node/src/gen/rtcconsole/v1/auth_service_pb.js";
import { ConfigService } from "../../node/src/gen/rtcconsole/v1/config_service_pb.js";
import { MonitorService } from "../../node/src/gen/rtcconsole/v1/monitor_service_pb.js";
import { UsageService } from "../../node/src/gen/rtcconsole/v1/usage_service_pb.js";

export { fromConnectError, RtcConsoleError } from "../../node/src/errors.js";

const KEY_ITEM = "rtc-console.api-key";

export const session = {
  key(): string | null {
    return sessionStorage.getItem(KEY_ITEM);
  },
  signIn(key: string): void {
    sessionStorage.setItem(KEY_ITEM, key);
  },
  signOut(): void {
    sessionStorage.removeItem(KEY_ITEM);
  },
};

const bearer: Interceptor = (next) => async (request) => {
  const key = session.key();
  if (key !== null) request.header.set("authorization", `Bearer ${key}`);
  return next(request);
};

const transport = createConnectTransport({
  baseUrl: location.origin,
  useBinaryFormat: true,
  interceptors: [bearer],
});

export const api = {
  apps: createClient(AppService, transport),
  auth: createClient(AuthService, transport),
  config: createClient(ConfigService, transport),
  monitor: createClient(MonitorService, transport),
  usage: createClient(UsageService, transport),
};
