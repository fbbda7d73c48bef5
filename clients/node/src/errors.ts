/**
 * Errors of rtc-console calls: one class per status, with the `google.rpc` details decoded.
 *
 * The same tree as the Python client (`clients/python/rtcconsole/errors.py`, `docs/errors.md`):
 *
 *     RtcConsoleError            (.code, .codeName, .rawMessage, .details, .connectError)
 *     ├── InvalidArgument        INVALID_ARGUMENT     BadRequest: one field violation per field
 *     ├── NotFound               NOT_FOUND            ResourceInfo
 *     ├── AlreadyExists          ALREADY_EXISTS       ResourceInfo, one per conflicting resource
 *     ├── FailedPrecondition     FAILED_PRECONDITION  PreconditionFailure (+ ErrorInfo)
 *     ├── ResourceExhausted      RESOURCE_EXHAUSTED   QuotaFailure + ErrorInfo (+ RetryInfo)
 *     ├── Unauthenticated        UNAUTHENTICATED
 *     ├── PermissionDenied       PERMISSION_DENIED    (+ RetryInfo when locked out)
 *     ├── Aborted                ABORTED              lost a race: retry
 *     ├── Unavailable            UNAVAILABLE          unreachable or shutting down: retry
 *     ├── DeadlineExceeded       DEADLINE_EXCEEDED
 *     ├── Internal               INTERNAL             RequestInfo: the server log's correlation id
 *     └── Unknown                UNKNOWN
 *
 * Any other status (CANCELLED, UNIMPLEMENTED, …) is an `RtcConsoleError` itself with its `code`.
 * The clients of `createConsole` / `createIngest` throw these; `fromConnectError` converts a
 * `ConnectError` (or anything thrown) for code that calls a transport directly.
 */

import { Code, ConnectError } from "@connectrpc/connect";
import {
  create,
  createRegistry,
  fromBinary,
  toBinary,
  toJson,
  type DescMessage,
  type JsonValue,
  type Message,
} from "@bufbuild/protobuf";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  PreconditionFailureSchema,
  QuotaFailureSchema,
  RequestInfoSchema,
  ResourceInfoSchema,
  RetryInfoSchema,
  type BadRequest,
  type BadRequest_FieldViolation,
  type ErrorInfo,
  type PreconditionFailure,
  type PreconditionFailure_Violation,
  type QuotaFailure,
  type QuotaFailure_Violation,
  type RequestInfo,
  type ResourceInfo,
  type RetryInfo,
} from "./gen/google/rpc/error_details_pb.js";

/** The `google.rpc` detail messages that are decoded; others stay `{ type, value }`. */
export const DETAIL_SCHEMAS: readonly DescMessage[] = [
  BadRequestSchema,
  QuotaFailureSchema,
  PreconditionFailureSchema,
  ErrorInfoSchema,
  ResourceInfoSchema,
  RequestInfoSchema,
  RetryInfoSchema,
];

const detailRegistry = createRegistry(...DETAIL_SCHEMAS);

/** A decoded detail, or a packed one of a type not in `DETAIL_SCHEMAS`. */
export type ErrorDetail =
  | BadRequest
  | QuotaFailure
  | PreconditionFailure
  | ErrorInfo
  | ResourceInfo
  | RequestInfo
  | RetryInfo
  | { readonly $typeName?: undefined; readonly type: string; readonly value: Uint8Array };

/** gRPC's upper-case names of the status codes (`Code.Canceled` is gRPC's `CANCELLED`). */
export const CODE_NAMES: Readonly<Record<Code, string>> = {
  [Code.Canceled]: "CANCELLED",
  [Code.Unknown]: "UNKNOWN",
  [Code.InvalidArgument]: "INVALID_ARGUMENT",
  [Code.DeadlineExceeded]: "DEADLINE_EXCEEDED",
  [Code.NotFound]: "NOT_FOUND",
  [Code.AlreadyExists]: "ALREADY_EXISTS",
  [Code.PermissionDenied]: "PERMISSION_DENIED",
  [Code.ResourceExhausted]: "RESOURCE_EXHAUSTED",
  [Code.FailedPrecondition]: "FAILED_PRECONDITION",
  [Code.Aborted]: "ABORTED",
  [Code.OutOfRange]: "OUT_OF_RANGE",
  [Code.Unimplemented]: "UNIMPLEMENTED",
  [Code.Internal]: "INTERNAL",
  [Code.Unavailable]: "UNAVAILABLE",
  [Code.DataLoss]: "DATA_LOSS",
  [Code.Unauthenticated]: "UNAUTHENTICATED",
};

function isDetail<T extends Message>(typeName: T["$typeName"]) {
  return (d: ErrorDetail): d is Extract<ErrorDetail, T> => d.$typeName === typeName;
}

/**
 * A call failed with a non-OK status. `message` is `"<CODE>: <status message>"`; the detail
 * getters return empty arrays or `undefined` when the server sent no detail of that kind.
 */
export class RtcConsoleError extends Error {
  /** The status this class stands for; `undefined` on the base class. */
  static readonly statusCode: Code | undefined = undefined;

  /** The status code (Connect's `Code`, numbered as gRPC's). */
  readonly code: Code;
  /** The status message, for people (without the code prefix). */
  readonly rawMessage: string;
  /** Decoded `google.rpc` details, in the order the server sent them. */
  readonly details: readonly ErrorDetail[];
  /** The error the transport raised, if this error came from one. */
  readonly connectError: ConnectError | undefined;

  constructor(
    rawMessage: string,
    options: { code?: Code; details?: readonly ErrorDetail[]; connectError?: ConnectError } = {},
  ) {
    const code = options.code ?? (new.target as typeof RtcConsoleError).statusCode ?? Code.Unknown;
    super(`${CODE_NAMES[code] ?? String(code)}: ${rawMessage}`, { cause: options.connectError });
    this.name = new.target.name;
    this.code = code;
    this.rawMessage = rawMessage;
    this.details = options.details ?? [];
    this.connectError = options.connectError;
  }

  /** `"INVALID_ARGUMENT"` and so on. */
  get codeName(): string {
    return CODE_NAMES[this.code] ?? String(this.code);
  }

  /** `BadRequest.FieldViolation` items (`field` is the proto path, e.g. `app.name`). */
  get fieldViolations(): BadRequest_FieldViolation[] {
    return this.details
      .filter(isDetail<BadRequest>("google.rpc.BadRequest"))
      .flatMap((d) => d.fieldViolations);
  }

  /** `QuotaFailure.Violation` items (`subject`, `description`). */
  get quotaViolations(): QuotaFailure_Violation[] {
    return this.details
      .filter(isDetail<QuotaFailure>("google.rpc.QuotaFailure"))
      .flatMap((d) => d.violations);
  }

  /** `PreconditionFailure.Violation` items (`type`, `subject`, `description`). */
  get preconditionViolations(): PreconditionFailure_Violation[] {
    return this.details
      .filter(isDetail<PreconditionFailure>("google.rpc.PreconditionFailure"))
      .flatMap((d) => d.violations);
  }

  /** The `ErrorInfo` detail (`reason`, `domain`, `metadata`), or `undefined`. */
  get errorInfo(): ErrorInfo | undefined {
    return this.details.find(isDetail<ErrorInfo>("google.rpc.ErrorInfo"));
  }

  /** The `RetryInfo` detail (`retryDelay`: how long to wait before retrying), or `undefined`. */
  get retryInfo(): RetryInfo | undefined {
    return this.details.find(isDetail<RetryInfo>("google.rpc.RetryInfo"));
  }

  /** The first `ResourceInfo` detail (`resourceType`, `resourceName`), or `undefined`. */
  get resourceInfo(): ResourceInfo | undefined {
    return this.resourceInfos[0];
  }

  /** Every `ResourceInfo` detail (ALREADY_EXISTS names each conflicting resource). */
  get resourceInfos(): ResourceInfo[] {
    return this.details.filter(isDetail<ResourceInfo>("google.rpc.ResourceInfo"));
  }

  /** The `RequestInfo` detail (`requestId`: the server log's correlation id), or `undefined`. */
  get requestInfo(): RequestInfo | undefined {
    return this.details.find(isDetail<RequestInfo>("google.rpc.RequestInfo"));
  }

  /**
   * `{ code: "INVALID_ARGUMENT", message, details: [{ "@type": …, … }] }`: details in proto-JSON
   * form with proto field names, as the Python client's `to_dict`.
   */
  toJSON(): { code: string; message: string; details: JsonValue[] } {
    const details = this.details.map((d): JsonValue => {
      if (d.$typeName === undefined) return { "@type": `type.googleapis.com/${d.type}` };
      const schema = detailRegistry.getMessage(d.$typeName);
      const body = schema ? toJson(schema, d, { useProtoFieldName: true }) : {};
      return { "@type": `type.googleapis.com/${d.$typeName}`, ...(body as Record<string, JsonValue>) };
    });
    return { code: this.codeName, message: this.rawMessage, details };
  }
}

/** A field of the request is invalid or missing; see `fieldViolations`. */
export class InvalidArgument extends RtcConsoleError {
  static override readonly statusCode = Code.InvalidArgument;
}
/** No such resource, or another account's (they look the same); see `resourceInfo`. */
export class NotFound extends RtcConsoleError {
  static override readonly statusCode = Code.NotFound;
}
/** The resource exists already (or a request id was reused differently). */
export class AlreadyExists extends RtcConsoleError {
  static override readonly statusCode = Code.AlreadyExists;
}
/** The resource is not in a state that allows the call; see `preconditionViolations`. */
export class FailedPrecondition extends RtcConsoleError {
  static override readonly statusCode = Code.FailedPrecondition;
}
/** A quota is used up (R1); see `quotaViolations` and `errorInfo`. */
export class ResourceExhausted extends RtcConsoleError {
  static override readonly statusCode = Code.ResourceExhausted;
}
/** The API key is missing, malformed, unknown or revoked. */
export class Unauthenticated extends RtcConsoleError {
  static override readonly statusCode = Code.Unauthenticated;
}
/** The key is valid but lacks what the call needs (e.g. a fresh secondary authentication, R7). */
export class PermissionDenied extends RtcConsoleError {
  static override readonly statusCode = Code.PermissionDenied;
}
/** The call lost a race with a concurrent change; retrying is safe. */
export class Aborted extends RtcConsoleError {
  static override readonly statusCode = Code.Aborted;
}
/** The server could not be reached or is shutting down; retrying is safe. */
export class Unavailable extends RtcConsoleError {
  static override readonly statusCode = Code.Unavailable;
}
/** The call did not finish within its deadline. */
export class DeadlineExceeded extends RtcConsoleError {
  static override readonly statusCode = Code.DeadlineExceeded;
}
/** A bug on the server; `requestInfo` holds the correlation id of its log line. */
export class Internal extends RtcConsoleError {
  static override readonly statusCode = Code.Internal;
}
/** The server or the transport failed without a status. */
export class Unknown extends RtcConsoleError {
  static override readonly statusCode = Code.Unknown;
}

/** Status code → error class: the one table. Codes not listed map to `RtcConsoleError`. */
export const ERROR_CLASS_BY_CODE: ReadonlyMap<Code, typeof RtcConsoleError> = new Map(
  [
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    ResourceExhausted,
    Unauthenticated,
    PermissionDenied,
    Aborted,
    Unavailable,
    DeadlineExceeded,
    Internal,
    Unknown,
  ].map((cls) => [cls.statusCode, cls] as const),
);

/** The error class of `code` (`RtcConsoleError` for codes without their own). */
export function errorClassFor(code: Code): typeof RtcConsoleError {
  return ERROR_CLASS_BY_CODE.get(code) ?? RtcConsoleError;
}

function decodeDetail(detail: ConnectError["details"][number]): ErrorDetail {
  if ("desc" in detail) {
    // An error built locally (`new ConnectError(…, outgoingDetails)`): the message is at hand.
    const message = create(detail.desc, detail.value);
    if (detailRegistry.getMessage(detail.desc.typeName)) return message as ErrorDetail;
    return { type: detail.desc.typeName, value: toBinary(detail.desc, message) };
  }
  const schema = detailRegistry.getMessage(detail.type);
  if (schema === undefined) return { type: detail.type, value: detail.value };
  try {
    return fromBinary(schema, detail.value) as ErrorDetail;
  } catch {
    return { type: detail.type, value: detail.value }; // undecodable: kept packed, never a second error
  }
}

/**
 * The `RtcConsoleError` for anything a call threw: a `ConnectError` keeps its code, message and
 * details; an `RtcConsoleError` is returned as is; anything else becomes `Unknown` (an aborted
 * call is CANCELLED, as `ConnectError.from` says).
 */
export function fromConnectError(reason: unknown): RtcConsoleError {
  if (reason instanceof RtcConsoleError) return reason;
  const error = ConnectError.from(reason);
  const details = error.details.map(decodeDetail);
  const cls = errorClassFor(error.code);
  return new cls(error.rawMessage, { code: error.code, details, connectError: error });
}
