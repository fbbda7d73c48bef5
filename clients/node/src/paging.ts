/**
 * Async iterators over list pages and batches for the client-streaming ingest calls.
 *
 *     for await (const app of paginate(console.apps.listApps, { pageSize: 50 }, "apps")) …
 *     const tally = await rtc.ingest.streamEvents(inBatches(events, (events) => ({ events })));
 */

import type { CallOptions } from "@connectrpc/connect";

/** The most records an ingest request (`ReportEvents`, a `StreamEvents` batch, …) may carry. */
export const MAX_BATCH = 5000;

/** Keys of `R` whose values are arrays: the item lists of a list response. */
export type ListKey<R> = { [K in keyof R]-?: R[K] extends readonly unknown[] ? K : never }[keyof R];

type ItemOf<R, K extends keyof R> = R[K] extends readonly (infer T)[] ? T : never;

/**
 * Every item of every page of a list call: calls `list({ ...request, pageToken })` with the
 * previous response's `nextPageToken` until it is empty (the protos' `page_token` /
 * `next_page_token` convention, as the Python client's `iter_*`), yielding `response[key]`'s
 * items. `request.pageToken` starts elsewhere; `options` (deadline, signal) apply to each page.
 */
export async function* paginate<
  Req extends { pageToken?: string },
  Res extends { nextPageToken: string },
  K extends ListKey<Res>,
>(
  list: (request: Req, options?: CallOptions) => Promise<Res>,
  request: Req,
  key: K,
  options?: CallOptions,
): AsyncGenerator<ItemOf<Res, K>, void, undefined> {
  let pageToken = request.pageToken ?? "";
  for (;;) {
    const page = await list({ ...request, pageToken }, options);
    yield* page[key] as unknown as Iterable<ItemOf<Res, K>>;
    pageToken = page.nextPageToken;
    if (!pageToken) return;
  }
}

/**
 * The requests of a client-streaming ingest call: `records` (any iterable, sync or async) in
 * batches of at most `size` (default and maximum `MAX_BATCH`, 5,000), each wrapped by
 * `toRequest` (e.g. `(events) => ({ events })`). Records are read lazily, one batch ahead.
 */
export async function* inBatches<T, Req>(
  records: Iterable<T> | AsyncIterable<T>,
  toRequest: (batch: T[]) => Req,
  size = MAX_BATCH,
): AsyncGenerator<Req, void, undefined> {
  if (!Number.isInteger(size) || size < 1 || size > MAX_BATCH) {
    throw new RangeError(`size must be an integer between 1 and ${MAX_BATCH}, got ${size}`);
  }
  let batch: T[] = [];
  for await (const record of records) {
    batch.push(record);
    if (batch.length === size) {
      yield toRequest(batch);
      batch = [];
    }
  }
  if (batch.length > 0) yield toRequest(batch);
}
