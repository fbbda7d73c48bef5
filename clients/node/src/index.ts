/**
 * @rtc-console/client: the TypeScript client of rtc-console.
 *
 * - `createConsole` / `createIngest`: the generated service clients over gRPC (default) or
 *   Connect, with bearer auth, a default deadline and typed errors (`client.ts`, `errors.ts`).
 * - `paginate`, `inBatches`: async iterators over list pages and ingest batches (`paging.ts`).
 * - UserSig / PrivateMapKey generation and verification (`sig/`), the callback `Sign` check and
 *   body parser (`callbacks.ts`): pure, no network.
 * - The generated messages and services: `import { AppService, … } from "@rtc-console/client/v1"`,
 *   or `v1.AppService` from this module.
 */

export * from "./client.js";
export * from "./errors.js";
export * from "./paging.js";
export * from "./callbacks.js";
export * from "./sig/common.js";
export {
  generateUserSig,
  verifyUserSig,
  type UserSigClaims,
  type UserSigVerification,
} from "./sig/usersig.js";
export * from "./sig/privatemap.js";
export * as v1 from "./v1.js";
export * as rpc from "./gen/google/rpc/error_details_pb.js";
export {
  Code,
  ConnectError,
  type CallOptions,
  type Client,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
