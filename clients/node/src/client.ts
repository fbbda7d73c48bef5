/**
 * The typed clients: the generated service clients of protobuf-es, over a gRPC (default), a
 * Connect or a gRPC-Web transport, with bearer authentication, a default deadline and typed errors.
 *
 *     const console = createConsole({ target: "127.0.0.1:50051", apiKey });
 *     const { app } = await console.apps.createApp({ name: "live_demo" });
 *     for await (const each of paginate(console.apps.listApps, { nameContains: "live" }, "apps")) …
 *     console.close();
 *
 * Every method of every service is there, named as in the proto in lowerCamelCase
 * (`apps.createApp`, `monitor.subscribeRoomEvents`, `ingest.streamEvents`), taking a message
 * init object and `CallOptions` (`timeoutMs`, `signal`, `headers`). A failed call throws an
 * `RtcConsoleError` subclass (`errors.ts`), also mid-stream.
 */

import {
  Code,
  ConnectError,
  createClient,
  type CallOptions,
  type Client,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { AppService } from "./gen/rtcconsole/v1/app_service_pb.js";
import { AuthService } from "./gen/rtcconsole/v1/auth_service_pb.js";
import { ConfigService } from "./gen/rtcconsole/v1/config_service_pb.js";
import { IngestService } from "./gen/rtcconsole/v1/ingest_service_pb.js";
import { MonitorService } from "./gen/rtcconsole/v1/monitor_service_pb.js";
import { UsageService } from "./gen/rtcconsole/v1/usage_service_pb.js";
import { fromConnectError } from "./errors.js";

/** Default deadline of each unary and client-streaming call, in milliseconds (30 s, as the Python client). */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** How to reach the server. */
export interface ConnectionOptions {
  /**
   * `HOST:PORT` (plain text) or a URL: `http://HOST:PORT`, `https://HOST:PORT` (TLS). For the
   * gRPC protocol it is the gRPC listener (`--listen`); for Connect and gRPC-Web, the HTTP door
   * (`--http-listen`).
   */
  target: string;
  /**
   * `"grpc"` (default: HTTP/2 to the gRPC listener), `"connect"` or `"grpc-web"` (HTTP/1.1 to the
   * HTTP door).
   */
  protocol?: Protocol;
  /**
   * The binary protobuf encoding (`true`) or JSON (`false`). Default: JSON for Connect, binary for
   * gRPC-Web (connect-node's own default: not every gRPC-Web server takes JSON); unused by gRPC.
   */
  binary?: boolean;
  /**
   * Deadline of each unary and client-streaming call without its own `timeoutMs`, in
   * milliseconds; default 30 000; `0` means none. Server-streaming calls (subscriptions,
   * which never end on their own) get no default deadline: pass `timeoutMs` (the client
   * cancels the stream then, with `DeadlineExceeded`) or a `signal`, or leave the
   * `for await` loop, which cancels the call.
   */
  timeoutMs?: number;
  /** More interceptors, run after the bearer one. */
  interceptors?: Interceptor[];
  /**
   * A transport of your own (TLS options, proxies), used as it is: `target`, `protocol`,
   * `binary` and `interceptors` are then unused, so give it `bearerAuth(token)` yourself.
   */
  transport?: Transport;
}

/** How the client talks to the server: see {@link ConnectionOptions.protocol}. */
export type Protocol = "grpc" | "connect" | "grpc-web";

/** Every service of one account. `close()` ends the HTTP/2 connection (gRPC protocol). */
export interface RtcConsole {
  readonly apps: Client<typeof AppService>;
  readonly auth: Client<typeof AuthService>;
  readonly config: Client<typeof ConfigService>;
  readonly monitor: Client<typeof MonitorService>;
  readonly usage: Client<typeof UsageService>;
  readonly transport: Transport;
  close(): void;
}

/** The data plane's services (media servers): ingest and the room-entry checks of AuthService. */
export interface RtcIngest {
  readonly ingest: Client<typeof IngestService>;
  readonly auth: Client<typeof AuthService>;
  readonly transport: Transport;
  close(): void;
}

/** An interceptor that sends `authorization: Bearer <token>` on every call. */
export function bearerAuth(token: string): Interceptor {
  const header = `Bearer ${token}`;
  return (next) => (request) => {
    request.header.set("authorization", header);
    return next(request);
  };
}

function checkToken(token: unknown, name: string, spaces: boolean): string {
  const value = typeof token === "string" ? token.trim() : "";
  if (!value || (!spaces && /\s/.test(value))) {
    // never repeats the token
    throw new TypeError(`${name} must be a non-empty token${spaces ? "" : " without spaces"}`);
  }
  return value;
}

function baseUrl(target: string): string {
  return /^https?:\/\//i.test(target) ? target.replace(/\/+$/, "") : `http://${target}`;
}

interface Opened {
  transport: Transport;
  close(): void;
}

function open(options: ConnectionOptions, token: string): Opened {
  const interceptors = [bearerAuth(token), ...(options.interceptors ?? [])];
  if (options.transport) return { transport: options.transport, close: () => undefined };
  const url = baseUrl(options.target);
  const protocol = options.protocol ?? "grpc";
  if (protocol === "connect") {
    const transport = createConnectTransport({
      baseUrl: url,
      httpVersion: "1.1",
      useBinaryFormat: options.binary ?? false,
      interceptors,
    });
    return { transport, close: () => undefined };
  }
  if (protocol === "grpc-web") {
    const transport = createGrpcWebTransport({
      baseUrl: url,
      httpVersion: "1.1",
      useBinaryFormat: options.binary ?? true,
      interceptors,
    });
    return { transport, close: () => undefined };
  }
  if (protocol !== "grpc") throw new TypeError(`protocol must be "grpc", "connect" or "grpc-web"`);
  const sessionManager = new Http2SessionManager(url);
  const transport = createGrpcTransport({ baseUrl: url, sessionManager, interceptors });
  return { transport, close: () => sessionManager.abort() };
}

/**
 * The generated client of `service` on `transport`, with errors converted to `RtcConsoleError`
 * and `timeoutMs` (milliseconds, 0: none) as the deadline of unary and client-streaming calls.
 */
export function typedClient<S extends DescService>(
  service: S,
  transport: Transport,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Client<S> {
  const raw = createClient(service, transport) as Record<
    string,
    (input: unknown, options?: CallOptions) => unknown
  >;
  const wrapped: Record<string, unknown> = {};
  for (const method of service.methods) {
    const call = raw[method.localName];
    if (call !== undefined) wrapped[method.localName] = wrapMethod(method, call, timeoutMs);
  }
  return wrapped as Client<S>;
}

function wrapMethod(
  method: DescMethod,
  call: (input: unknown, options?: CallOptions) => unknown,
  timeoutMs: number,
): (input: unknown, options?: CallOptions) => unknown {
  if (method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming") {
    return (input, options) =>
      runStream(call as (input: unknown, options?: CallOptions) => AsyncIterable<unknown>, input, options);
  }
  return async (input, options) => {
    const withDeadline =
      options?.timeoutMs === undefined && timeoutMs > 0 ? { ...options, timeoutMs } : options;
    try {
      return await call(input, withDeadline);
    } catch (error) {
      throw fromConnectError(error);
    }
  };
}

/**
 * A streaming call that starts on the first `next()`, is cancelled when the caller leaves its
 * `for await` loop (Connect's own iterable omits `return`, so a `break` would leave the HTTP/2
 * stream open), and ends with `DeadlineExceeded` after `options.timeoutMs`, measured here
 * (Connect's deadline timer outlives a cancelled stream and holds the event loop).
 */
async function* runStream(
  call: (input: unknown, options?: CallOptions) => AsyncIterable<unknown>,
  input: unknown,
  options: CallOptions | undefined,
): AsyncGenerator<unknown, void, undefined> {
  const { timeoutMs, signal, ...rest } = options ?? {};
  const cancel = new AbortController();
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => cancel.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
          timeoutMs,
        );
  try {
    yield* call(input, {
      ...rest,
      signal: signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal,
    });
  } catch (error) {
    throw fromConnectError(error);
  } finally {
    clearTimeout(timer);
    cancel.abort(); // a no-op once the stream has ended; else it cancels the call
  }
}

/** The account's clients; `apiKey` is an API key (`rtc-console admin account create`, `CreateApiKey`). */
export function createConsole(options: ConnectionOptions & { apiKey: string }): RtcConsole {
  const { transport, close } = open(options, checkToken(options.apiKey, "apiKey", false));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    apps: typedClient(AppService, transport, timeoutMs),
    auth: typedClient(AuthService, transport, timeoutMs),
    config: typedClient(ConfigService, transport, timeoutMs),
    monitor: typedClient(MonitorService, transport, timeoutMs),
    usage: typedClient(UsageService, transport, timeoutMs),
    transport,
    close,
  };
}

/** The data plane's clients; `dataPlaneToken` is the server's `--data-plane-token` (any non-empty text). */
export function createIngest(options: ConnectionOptions & { dataPlaneToken: string }): RtcIngest {
  const { transport, close } = open(options, checkToken(options.dataPlaneToken, "dataPlaneToken", true));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    ingest: typedClient(IngestService, transport, timeoutMs),
    auth: typedClient(AuthService, transport, timeoutMs),
    transport,
    close,
  };
}
